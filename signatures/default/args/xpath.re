# XPath injection: breaking out of a predicate into a union of node sets.
#@ category: xpath
#@ transforms: default
#@ severity: critical
#@ paranoia: 1
#@ message: XPath injection: predicate breakout
['"]\s*\]\s*\|\s*/{1,2}[\w*@]
\|\s*//\*\s*\[\s*['"]
