# Format-string injection: printf conversions that read the stack (%x, %p) or write to memory
# (%n) strung together, a positional write (%1$n). Single
# placeholders ("%s", "50%") and templates with words between placeholders pass.
#@ category: format-string
#@ transforms: none
#@ severity: critical
#@ paranoia: 1
#@ message: Format-string injection: chained stack-reading or memory-writing conversions
(?:%(?:[0-9]{1,3}\$)?[0-9.]{0,8}(?:hh?|ll?)?[nxp][.|:_, -]?){3,}
%[0-9]{1,3}\$[0-9]{0,8}(?:hh?|ll?)?n
(?:%[0-9.]{0,8}s){6,}
