"""Drug safety: HCP messages that may report an adverse event become cases that reach drug safety in time
(docs/safety.md). The lexicon finds them, cases.py keeps them and their trail, forwarding.py hands them on."""
