//! A SecLang engine for the OWASP Core Rule Set (work in progress).
