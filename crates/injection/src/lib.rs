//! libinjection-class SQL injection and XSS detection (work in progress).
