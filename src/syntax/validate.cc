// Post-parse validation lives here (see parser.h).
