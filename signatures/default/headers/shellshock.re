# Shellshock (CVE-2014-6271): a bash function definition in a header value.
#@ category: rce
#@ transforms: urlDecodeUni removeNulls compressWhitespace
#@ severity: critical
#@ paranoia: 1
#@ message: Shellshock: function definition in a header
^\s*\(\s*\)\s*\{
\(\s*\)\s*\{\s*(?::|_)\s*;?\s*\}\s*;
\(\s*\)\s*\{\s*_\s*;\s*\}\s*>_
