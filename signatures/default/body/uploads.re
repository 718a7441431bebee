# Malicious file uploads seen in the raw multipart body: web shells, dangerous file names,
# script inside SVG. Ordinary source files (a PHP controller on a code host) pass.
#@ category: php-injection
#@ transforms: removeNulls compressWhitespace
#@ severity: critical
#@ paranoia: 1
#@ message: Upload: PHP web shell
<\?(?:php|=)?[^?]{0,300}?\b(?:system|exec|passthru|shell_exec|popen|proc_open|eval|assert|pcntl_exec)\s*\(\s*@?\s*(?:\$_(?:get|post|request|cookie|server)|base64_decode|gzinflate|str_rot13|\$\w+\s*\()
<\?(?:php|=)?\s*@?\s*(?:eval|assert)\s*\(\s*\$_
#@ category: java-injection
#@ message: Upload: JSP/ASPX web shell
\bruntime\.getruntime\s*\(\s*\)\s*\.\s*exec\s*\(\s*request\.getparameter
\bprocess\.start\s*\([^)]{0,100}\brequest\s*[\[(.]
<%@?\s*(?:page\s+language\s*=\s*["']?(?:jscript|c#|vb)["']?\s*%>\s*<%\s*)?eval\s*\(?\s*request
#@ category: traversal
#@ message: Upload: path traversal in the file name
\bfilename\*?\s*=\s*["']?[^"'\r\n]*\.\.[/\\]
#@ category: restricted-file
#@ message: Upload: server configuration file
\bfilename\s*=\s*["']?(?:\.htaccess|\.user\.ini|web\.config|php\.ini)["'\s;]
#@ category: xss
#@ message: Upload: SVG with script or event handler
<svg\b[^>]*>.{0,2000}?(?:<script\b|\son(?:load|error|click|mouseover|focus|begin|end|activate)\s*=|href\s*=\s*["']?\s*javascript:)
#@ category: java-injection
#@ message: Upload: JSP scriptlet running a command
<%[=!]?[^%]{0,300}?\bruntime\s*\.\s*getruntime\s*\(\s*\)\s*\.\s*exec\s*\(
#@ category: rce
#@ message: Upload: DjVu annotation running a command (ExifTool, CVE-2021-22205)
\(\s*metadata\b[\s\S]{0,300}?\.\s*(?:qx\s*[{(\[<|/!]|`|(?:system|exec|readpipe|open)\s*\()
#@ category: php-injection
#@ message: Upload: PHP web shell (backticks or a variable function on request input)
<\?(?:php|=)?[^?]{0,300}?`[^`]{0,100}\$_(?:get|post|request|cookie|server)\b
<\?(?:php|=)?[^?]{0,300}?\$\w+\s*\(\s*@?\$_(?:get|post|request|cookie)\s*\[
#@ category: java-injection
#@ message: Upload: JSP shell running a request parameter
<%[^%]{0,300}?\.\s*exec\s*\(\s*request\.getparameter\s*\(
#@ category: xss
#@ message: Upload: SVG with an event handler on its root element
<(?:[a-z0-9_-]+:)?svg\b[^>]{0,2000}?\son(?:load|error|click|mouseover|focus|begin|end|activate)\s*=
