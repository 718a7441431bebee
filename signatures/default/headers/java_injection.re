# Expression-language injection delivered in headers, including structural ones
# (Content-Type for Struts2 CVE-2017-5638).
#@ category: java-injection
#@ transforms: urlDecodeUni htmlEntityDecode removeNulls compressWhitespace
#@ severity: critical
#@ paranoia: 1
#@ message: OGNL/SpEL expression in a header
%\{\s*\(?\s*#
#_memberaccess
@ognl\.ognlcontext@
\bgetruntime\s*\(\s*\)\s*\.\s*exec\s*\(
\bt\s*\(\s*java\.lang\.(?:runtime|system|processbuilder)\s*\)
\bnew\s+(?:java\.lang\.)?processbuilder\s*\(
