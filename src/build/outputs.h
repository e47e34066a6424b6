// Outputs of a successful build (reference §5.6), written by the engine
// after every target succeeded.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "context.h"

namespace earth::build {

// Writes an AS LOCAL artifact; returns its host paths. A path whose host
// copy is unchanged since earth wrote this artifact there is left alone
// (a marker under <cache>/outputs/ records what was written). With a
// journal, each host path is noted as it is after the write.
Result<std::vector<std::string>> write_artifact(const ArtifactOutput& out,
                                                const std::string& cache_dir,
                                                JournalRecorder* journal = nullptr);
// Commits a SAVE IMAGE into the local store (skipped when the same state
// is already stored under the same names); returns the manifest digest.
// `labels` are added to the image's own (Earthly's dev.earthly.* labels).
Result<std::string> write_image(image::ImageStore& images, const ImageOutput& out,
                                const std::string& cache_dir,
                                const std::map<std::string, std::string>& labels);

} // namespace earth::build
