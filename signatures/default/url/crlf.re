# CR/LF in the request target (response splitting through redirects built from the path).
#@ category: crlf
#@ transforms: urlDecodeUni urlDecodeUni removeNulls
#@ severity: critical
#@ paranoia: 1
#@ message: CRLF injection in the URL
[\r\n][\t ]*(?:set-cookie|location|content-(?:length|type|disposition)|x-[\w-]+|refresh|link|access-control-[\w-]+)[\t ]*:
[\r\n][\t ]*http/\d
\xe5\x98[\x8a\x8d]
