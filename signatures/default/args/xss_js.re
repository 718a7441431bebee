# Cross-site scripting: script URLs and JavaScript payloads. HTML entities ARE decoded here
# (browsers decode them inside attribute values, so href="&#106;avascript:..." is live).
#@ category: xss
#@ transforms: default
#@ severity: critical
#@ paranoia: 1
#@ message: XSS: script URL scheme
(?:^|[\s"'`=(,;:\[{\\])(?:j[\x00-\x20]*a[\x00-\x20]*v[\x00-\x20]*a[\x00-\x20]*|v[\x00-\x20]*b[\x00-\x20]*|l[\x00-\x20]*i[\x00-\x20]*v[\x00-\x20]*e[\x00-\x20]*)s[\x00-\x20]*c[\x00-\x20]*r[\x00-\x20]*i[\x00-\x20]*p[\x00-\x20]*t[\x00-\x20]*:(?://|/\*|\(|\[|['"`{%\\]|\s*[a-z_$][\w$.\[\]'"]*\s*[(=\[`])
(?:href|src|action|formaction|data|xlink:href|background|poster|code|codebase|dynsrc|lowsrc|to|from|values|by|ping|cite|longdesc|profile|usemap|classid|archive|manifest|icon|content)\s*=\s*["'`]?\s*(?:j[\x00-\x20]*a[\x00-\x20]*v[\x00-\x20]*a[\x00-\x20]*|v[\x00-\x20]*b[\x00-\x20]*|l[\x00-\x20]*i[\x00-\x20]*v[\x00-\x20]*e[\x00-\x20]*)s[\x00-\x20]*c[\x00-\x20]*r[\x00-\x20]*i[\x00-\x20]*p[\x00-\x20]*t[\x00-\x20]*:
#@ message: XSS: JavaScript injected after breaking out of a string
['"`]\s*[-+*/%^|&;,)]\s*(?:alert|prompt|confirm|eval|print|fetch|import|settimeout|setinterval|function\s*\()\s*[(`]
['"`]\s*[-+*/%^|&;,)]\s*(?:document\.(?:cookie|domain|location|write)|window\.(?:location|name|open)|location\s*=)
#@ message: XSS: typical proof-of-concept call
\(\s*(?:alert|prompt|confirm)\s*\)\s*\(
\[\s*/\w+/\s*\.\s*source\b
\b(?:alert|prompt|confirm)\s*(?:\(\s*|`)(?:-?\d+|document\.(?:cookie|domain|location)|window\.origin|location|origin|['"`]?xss|['"`]\s*xss|['"`]?1['"`]?\s*\)|/[^/]*/|string\.fromcharcode|self\.|top\.|this\b)
\b(?:top|window|self|parent|this|globalthis|frames|document)\s*\[\s*['"`][^'"`]{1,20}['"`]\s*(?:[+\s]+\s*['"`][^'"`]{0,20}['"`]\s*)*\]\s*\(
\beval\s*\(\s*(?:atob|unescape|decodeuri(?:component)?|string\.fromcharcode|location|name|window\.name|document\.(?:cookie|location)|\[)
\bconstructor\s*\.\s*constructor\s*\(
\[\s*['"`]constructor['"`]\s*\]\s*\[?\s*['"`]?constructor
(?:location|src|href)\s*=\s*[^;]{0,100}document\.cookie
\bnew\s+image\s*\(\s*\)\s*\.\s*src\s*=
\bdocument\.write\s*\(\s*['"`]?\s*<
\bfetch\s*\([^)]{0,200}document\.cookie
#@ paranoia: 1
#@ severity: critical
#@ message: XSS: dialog function passed as a callback ([1].find(alert), .find(top.alert))
\.\s*(?:find|findindex|findlast|findlastindex|map|flatmap|filter|foreach|some|every|reduce|reduceright|sort)\s*\(\s*(?:[a-z_$][\w$]*\s*\.\s*){0,3}(?:alert|prompt|confirm)\s*\)
#@ message: XSS: print dialog passed as a callback to an array search ([1].find(print))
\.\s*(?:find|findindex|findlast|findlastindex|some|every|filter|sort)\s*\(\s*(?:[a-z_$][\w$]*\s*\.\s*){0,3}print\s*\)
#@ message: XSS: data URL of a document type whose base64 content starts with markup (< then a letter, ! or ?)
# document types, made-up ones (`data:q;base64,`) and none; not image/ (an <img> never runs
# one; SVG documents are xss.re's)
data\s*:\s*(?:(?:application|text|message|multipart)/[\w.+-]*|[\w.+-]*)(?:;[^,"'<>;\s]*)*;\s*base64\s*,\s*P[C-H]
#@ paranoia: 1
#@ severity: critical
#@ message: XSS: script URL scheme
# the legacy `mocha:` scheme (Netscape) and IE's `mhtml:` archives
(?:href|src|action|formaction|data|background|dynsrc|lowsrc|code|codebase)\s*=\s*["'`]?\s*(?:mocha|mhtml)\s*:
