# XML external entities inside a user value (an XML document sent in a form or JSON field).
#@ category: xxe
#@ transforms: default
#@ severity: critical
#@ paranoia: 1
#@ message: XXE: external entity declaration in a value
<!entity\s+(?:%\s*)?[\w.:-]+\s+(?:system|public)\b
<!doctype\s+[\w:.-]+\s*(?:system|public)\s+["'][^"']*["']\s*(?:["'][^"']*["'])?\s*\[?\s*<!entity
<!doctype\s+[\w:.-]+\s+system\s+["'](?:file|php|expect|jar|netdoc|gopher|ftp|data|https?)://
\bxmlns:xi\s*=\s*["']http://www\.w3\.org/2001/xinclude
<xi:include\b
#@ message: XML entity expansion (billion laughs): an entity defined by repeating others
<!entity\s+(?:%\s*)?[\w.:-]+\s+["'][^"']{0,400}?(?:&[\w.:-]+;[^"'&]{0,8}){3}
#@ severity: error
#@ message: XXE probe: DOCTYPE with an internal subset in a value
<!doctype\s+[\w:.-]+\s*\[\s*<!(?:entity|element|attlist)\b
