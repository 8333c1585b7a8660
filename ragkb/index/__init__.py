"""What a knowledge base stores: catalog (SQLite), vectors (Chroma), keywords, fingerprint."""
