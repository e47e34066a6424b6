// fmt's compiled part, built from the headers of Debian's libfmt-dev, which
// ships only a shared library: linking it into earth spares every process
// loading libfmt.so and, with it, libstdc++.so (issue 9, start-up time).
// format-inl.h defines fmt's non-template functions (vformat, vprint …)
// when FMT_HEADER_ONLY is not set; earth calls nothing else out of line.
#include <fmt/format-inl.h>

// The templates format.h declares `extern template` and leaves to the
// library.
namespace fmt::detail {
template auto thousands_sep_impl<char>(locale_ref) -> thousands_sep_result<char>;
template auto thousands_sep_impl<wchar_t>(locale_ref) -> thousands_sep_result<wchar_t>;
template auto decimal_point_impl(locale_ref) -> char;
template auto decimal_point_impl(locale_ref) -> wchar_t;
} // namespace fmt::detail
