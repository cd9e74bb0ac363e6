"""Reading documents and their structure: loading the corpus, Markdown and HTML markup, the plain-text guide's recovered outline, sentences, words, and chunks with exact offsets."""
