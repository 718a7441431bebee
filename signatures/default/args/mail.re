# Mail command injection (IMAP / SMTP): a line break in a value that a webmail or contact
# form passes into a mail protocol session, followed by a command of that protocol. Mail
# header injection (`\nBcc: a@b`) is in crlf.re.
# Precision: multi-line form text starts lines with numbers and words ("1 Create an account",
# "Mail from Bob:"), so a command needs its protocol's shape: an IMAP tag that mixes letters
# and digits (A001, v100) and the command's own arguments, the mailbox ending the line;
# SMTP envelope commands with their colon and address. Left out for precision: IMAP tags
# without both letters and digits, unquoted mailboxes other than INBOX, CHECK and CLOSE
# ("V12 close" in a checklist), COPY of a single message ("A4 copy 2 \"double sided\""),
# RCPT TO without an address alone on its line.
#@ category: mail
#@ transforms: urlDecodeUni urlDecodeUni removeNulls
#@ severity: critical
#@ paranoia: 1
#@ message: Mail command injection: IMAP command after a line break
[\r\n][\t ]*[a-z]{1,8}\d{1,8}[\t ]+(?:capability|logout|noop|expunge|starttls|namespace|idle|unselect)[\t ]*(?:[\r\n]|$)
[\r\n][\t ]*[a-z]{1,8}\d{1,8}[\t ]+(?:uid[\t ]+)?fetch[\t ]+[\d*][\d*:,]*(?:[\t ]+(?:\(|body\b|rfc822\b|flags\b|envelope\b|all\b|full\b|fast\b|uid\b|internaldate\b|bodystructure\b)|[\t ]*(?:[\r\n]|$))
[\r\n][\t ]*[a-z]{1,8}\d{1,8}[\t ]+(?:uid[\t ]+)?store[\t ]+[\d*][\d*:,]*[\t ]+[+-]?flags\b
[\r\n][\t ]*[a-z]{1,8}\d{1,8}[\t ]+(?:uid[\t ]+)?(?:copy|move)[\t ]+\d*[:,*][\d*:,]*[\t ]+(?:"[^"\r\n]*"|inbox)[\t ]*(?:[\r\n]|$)
[\r\n][\t ]*[a-z]{1,8}\d{1,8}[\t ]+(?:uid[\t ]+)?search[\t ]+(?:charset[\t ]+\S+[\t ]+)?(?:all|unseen|undeleted|flagged|deleted|answered|recent)[\t ]*(?:[\r\n]|$)
[\r\n][\t ]*[a-z]{1,8}\d{1,8}[\t ]+(?:select|examine|create|delete|subscribe|unsubscribe|getquota|getacl)[\t ]+(?:"[^"\r\n]*"|inbox)[\t ]*(?:[\r\n]|$)
[\r\n][\t ]*[a-z]{1,8}\d{1,8}[\t ]+(?:status[\t ]+(?:"[^"\r\n]*"|\S+)[\t ]+\(|rename[\t ]+(?:"[^"\r\n]*"|inbox)[\t ]+"|append[\t ]+(?:"[^"\r\n]*"|inbox)[\t ]+[({])
[\r\n][\t ]*[a-z]{1,8}\d{1,8}[\t ]+(?:list|lsub)[\t ]+(?:""|"[^"\r\n]*"[\t ]+"|\S+[\t ]+"?[*%])
[\r\n][\t ]*[a-z]{1,8}\d{1,8}[\t ]+(?:login[\t ]+(?:"[^"\r\n]*"|\S+)[\t ]+(?:"[^"\r\n]*"|\S+)|authenticate[\t ]+(?:plain|login|xoauth2|cram-md5))[\t ]*(?:[\r\n]|$)
#@ message: Mail command injection: SMTP command after a line break
[\r\n][\t ]*(?:rcpt[\t ]+to|mail[\t ]+from)[\t ]*:[\t ]*<
[\r\n][\t ]*rcpt[\t ]+to[\t ]*:[\t ]*[^\s@<>]+@[\w.-]+[\t ]*(?:[\r\n]|$)
[\r\n][\t ]*(?:helo|ehlo)[\t ]+[\w.-]+[\t ]*(?:[\r\n]|$)
[\r\n][\t ]*(?:vrfy|expn)[\t ]+\S+[\t ]*(?:[\r\n]|$)
