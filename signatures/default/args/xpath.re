# XPath injection: breaking out of a predicate into a union of node sets.
#@ category: xpath
#@ transforms: default
#@ severity: critical
#@ paranoia: 1
#@ message: XPath injection: predicate breakout
['"]\s*\]\s*\|\s*/{1,2}[\w*@]
\|\s*//\*\s*\[\s*['"]
# The quote-then-boolean-function probe of args/sqli.re, here without its replaceComments
# transform: `/*` is a path step in XPath, not a comment, and a payload holding one
# (x') or contains(name(/*[1]),'u') and (') was wiped before matching there.
#@ message: XPath injection: quote then boolean function
['"]\s*\)*\s*(?:or|and)\s+(?:count|name|string-length|starts-with|local-name)\s*\(|['"]\s*\)*\s*(?:or|and)\s+(?:contains|substring|not)\s*\(.{0,120}?\b(?:or|and)\s*\(*\s*['"]
#@ message: XPath injection: predicate breakout after a closing parenthesis
['"]\s*\)+\s*\]\s*\|\s*/{1,2}[\w*@]
