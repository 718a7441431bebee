# XSS markup anywhere in the request target. Tools such as Nessus send tags unencoded
# (/x.php?<meta http-equiv=set-cookie content="a=1">), which the query parser splits at '='
# into a name and a value; the whole target still shows the tag. No HTML entity decoding.
#@ category: xss
#@ transforms: urlDecodeUni urlDecodeUni removeNulls unicodeNormalize compressWhitespace
#@ severity: critical
#@ paranoia: 1
#@ message: XSS markup in the URL
<script\b
<meta[\s/][^>]*http-equiv\s*=\s*["']?\s*(?:refresh|set-cookie)
<(?:img|image|svg|body|iframe|input|details|video|audio|a|x|div|object|embed|marquee|isindex|select|textarea|keygen|form|button|style|link|base)\b[^>]{0,200}?[\s/"']on[a-z]{3,}\s*=
<(?:img|image|iframe|embed|object|a|link|base|frame)\b[^>]{0,200}?\b(?:src|href|data)\s*=\s*["']?\s*(?:javascript|vbscript|livescript):
