# Mail command injection (IMAP / SMTP): a line break in a value that a webmail or contact
# form passes into a mail protocol session, followed by a command of that protocol. Mail
# header injection (`\nBcc: a@b`) is in crlf.re.
# Precision: multi-line form text starts lines with numbers and words ("1 Create an account",
# "Mail from Bob:"), so a command needs its protocol's shape: an IMAP tag that mixes letters
# and digits (A001, v100) and the command's own arguments or the end of the line; SMTP
# envelope commands with their colon and angle-bracketed address.
#@ category: mail
#@ transforms: urlDecodeUni urlDecodeUni removeNulls
#@ severity: critical
#@ paranoia: 1
#@ message: Mail command injection: IMAP command after a line break
[\r\n][\t ]*[a-z]{1,8}\d{1,8}[\t ]+(?:capability|logout|noop|expunge|check|close|starttls|namespace|idle|unselect)[\t ]*(?:[\r\n]|$)
[\r\n][\t ]*[a-z]{1,8}\d{1,8}[\t ]+(?:uid[\t ]+)?fetch[\t ]+[\d*][\d*:,]*(?:[\t ]+(?:\(|body\b|rfc822\b|flags\b|envelope\b|all\b|full\b|fast\b|uid\b|internaldate\b|bodystructure\b)|[\t ]*(?:[\r\n]|$))
[\r\n][\t ]*[a-z]{1,8}\d{1,8}[\t ]+(?:uid[\t ]+)?store[\t ]+[\d*][\d*:,]*[\t ]+[+-]?flags\b
[\r\n][\t ]*[a-z]{1,8}\d{1,8}[\t ]+(?:uid[\t ]+)?(?:copy|move)[\t ]+[\d*][\d*:,]*[\t ]+(?:"|inbox\b)
[\r\n][\t ]*[a-z]{1,8}\d{1,8}[\t ]+(?:uid[\t ]+)?search[\t ]+(?:charset[\t ]+\S+[\t ]+)?(?:all|unseen|undeleted|flagged|deleted|answered|recent)[\t ]*(?:[\r\n]|$)
[\r\n][\t ]*[a-z]{1,8}\d{1,8}[\t ]+(?:select|examine|create|delete|rename|subscribe|unsubscribe|status|append|getquota|getacl)[\t ]+(?:"[^"\r\n]*"|inbox\b)
[\r\n][\t ]*[a-z]{1,8}\d{1,8}[\t ]+(?:list|lsub)[\t ]+(?:""|"[^"\r\n]*"[\t ]+"|\S+[\t ]+"?[*%])
[\r\n][\t ]*[a-z]{1,8}\d{1,8}[\t ]+(?:login[\t ]+\S+[\t ]+\S+|authenticate[\t ]+(?:plain|login|xoauth2|cram-md5))[\t ]*(?:[\r\n]|$)
#@ message: Mail command injection: SMTP command after a line break
[\r\n][\t ]*(?:rcpt[\t ]+to|mail[\t ]+from)[\t ]*:[\t ]*<
[\r\n][\t ]*(?:helo|ehlo)[\t ]+[\w.-]+[\t ]*(?:[\r\n]|$)
[\r\n][\t ]*(?:vrfy|expn)[\t ]+\S+[\t ]*(?:[\r\n]|$)
