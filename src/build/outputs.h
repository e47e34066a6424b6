// Outputs of a successful build (reference §5.6), written by the engine
// after every target succeeded.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "context.h"

namespace earth::build {

// Where write_artifact notes the host paths it leaves: a request journal's
// recorder, as outputs of target instance `target`; and how many it wrote
// rather than left alone (--profile's "outputs:" note).
struct OutputNotes {
  JournalRecorder* journal = nullptr;
  Digest target;
  size_t* rewritten = nullptr;
};

// Writes an AS LOCAL artifact; returns its host paths. A path whose host
// copy is unchanged since earth wrote this artifact there is left alone
// (a marker under <cache>/outputs/ records what was written). With a
// journal, each host path is noted as it is after the write. With
// `marker_uses`, the markers used are added to it rather than recorded in
// the lease log one write each: the caller records them all at once
// (record_marker_uses), after which a prune may take them — at worst the
// next build writes the output again.
Result<std::vector<std::string>> write_artifact(const ArtifactOutput& out,
                                                const std::string& cache_dir,
                                                const OutputNotes& notes = {},
                                                std::vector<std::string>* marker_uses = nullptr);
// One lease-log write for the output markers write_artifact collected.
void record_marker_uses(const std::string& cache_dir, const std::vector<std::string>& markers);
// Commits a SAVE IMAGE into the local store (skipped when the same state
// is already stored under the same names); returns the manifest digest.
// `labels` are added to the image's own (Earthly's dev.earthly.* labels).
Result<std::string> write_image(image::ImageStore& images, const ImageOutput& out,
                                const std::string& cache_dir,
                                const std::map<std::string, std::string>& labels);

} // namespace earth::build
