//! Perceptual image hashing (PDQ) and hash-bank indexes. Being written (issue 4).
