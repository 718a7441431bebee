# Header injection: an (encoded) CR or LF inside a header value followed by a header line.
# Raw CR/LF cannot appear in a parsed header value, so it is always encoded here.
#@ category: crlf
#@ transforms: urlDecodeUni urlDecodeUni removeNulls
#@ severity: critical
#@ paranoia: 1
#@ message: Header injection: encoded CRLF followed by a header
[\r\n][\t ]*[a-z][\w-]{1,40}[\t ]*:
[\r\n][\t ]*http/\d
\xe5\x98[\x8a\x8d]
