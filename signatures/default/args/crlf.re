# CRLF injection / HTTP response splitting / mail header injection in values that may be
# reflected into response or mail headers. Newlines are kept (no whitespace compression).
# Multi-line form text ("Location: Remote") must pass, so header names need a value shape.
# Decoded twice: a JSON value arrives undecoded, and `%250d%250a` is a double-encoded CRLF.
#@ category: crlf
#@ transforms: urlDecodeUni urlDecodeUni removeNulls
#@ severity: critical
#@ paranoia: 1
#@ message: CRLF injection: injected response header
[\r\n][\t ]*(?:set-cookie|set-cookie2)[\t ]*:
[\r\n][\t ]*location[\t ]*:[\t ]*(?:[a-z][\w+.-]*:)?//
[\r\n][\t ]*(?:content-(?:length|type|disposition|security-policy)|transfer-encoding|x-xss-protection|access-control-allow-\w+|refresh|link|x-forwarded-\w+|x-injected[\w-]*|x-crlf[\w-]*)[\t ]*:
[\r\n][\t ]*http/\d(?:\.\d)?\s+\d{3}\b
[\w-]{2,40}[\t ]*:[^\r\n]*\r?\n\r?\n[\t ]*<(?:script|html|svg|img|iframe|body)\b
#@ message: Mail header injection
[\r\n][\t ]*bcc[\t ]*:[\t ]*[^\s@]+@
#@ message: CRLF injection: UTF-8 sequence that some servers truncate to CR/LF
\xe5\x98[\x8a\x8d]
