"""The index: embedding, the Chroma store (embedded or a server) and its versions, and ingestion."""
