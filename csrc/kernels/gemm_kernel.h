/*
 * Blocked GEMM with a fused output stage: one single-threaded driver, written
 * once, compiled per instruction set and dtype by including this file.
 *
 *   C = act(alpha * op(A) @ op(B) + beta * C + bias)
 *   op(A) (m, k), op(B) (k, n), C (m, n), all row-major; bias (n,) or NULL.
 *
 * Structure (BLIS/GotoBLAS): loops jc (NC columns of C) > pc (KC of the sum)
 * > ic (MC rows) > jr (NR) > ir (MR). Per (jc, pc) the B block (KC x NC) is
 * packed into NR-wide strips (L2/L3); per ic the A block (MC x KC) into
 * MR-tall strips (L2). The micro-kernel keeps a rows x NR tile of C in
 * registers for the whole KC-long sum, reading one column of packed A
 * (broadcast) and one row of the B strip (vector loads) per step. Transposes
 * are absorbed by the packing: the micro-kernel sees one layout only.
 *
 * Special shapes, each measured to need it (see the commit history):
 * - few rows (m <= SMALL_M): B is read in place, not packed (packing would
 *   cost as much as the product); ragged strips are still packed. Each
 *   tile prefetches its rows of the next strip into L2 (rows ldb apart,
 *   which no hardware prefetcher follows: 32x1024x1024 went from 707 to
 *   553 us on Sapphire Rapids).
 * - few rows (TR_MIN_M..TR_MAX_M) with B transposed (the input gradient
 *   delta @ W^T): transposed tiles, vectors down C's columns with all its
 *   rows in one tile, broadcasting from W's rows in place (gemm_tr).
 * - one block of rows (m <= MC) with B packed: a strip at a time, right
 *   before the strip's row tiles (in L1 for them), not a whole KC x NC
 *   block (which would be read back from L3). And wherever A is read in
 *   place, its last MR + r rows go as two tiles of about equal height.
 * - one row (m == 1): a matrix-vector product streaming whole rows of B.
 * - A not transposed is read in place, never packed: its rows are already
 *   contiguous along k, the micro-kernel broadcasts MR of them per step from
 *   L1/L2 as cheaply as from a packed strip, and the packing's strided
 *   transpose cost 2-8% of MLP-sized products (measured: 200x128x256 went
 *   from 165.6 to 152.1 us, 200x256x784 from 966 to 953 us on Zen 3).
 *   Transposed A (the weight gradient's activations^T) is packed.
 * - narrow C (DOT_MAX_N < n < VW, the output layer: 10 classes): vectors
 *   run down the columns of C instead of along its rows (a row-wide vector
 *   would be mostly padding): a tile is up to COL_MV vectors of VW rows by
 *   n columns, reading VW values of one column of op(A) per vector and
 *   broadcasting op(B)'s values (packed as kc rows of n). Transposed A (the
 *   weight gradient) is read in place; A not transposed is packed into
 *   VW-row column strips. C is written back through a small transposing
 *   buffer.
 * - very narrow C (n <= DOT_MAX_N: a 1-column regression head): dot
 *   products of op(A)'s rows and op(B)'s columns, vectors along k, one
 *   horizontal sum per element (the column path's transposing pack of A
 *   would cost more than the product; transposed A is read in place by a
 *   form with the same operations); its own summation order, see gemm_dot.
 * - narrow strips (nr <= VW columns of a wider C): a one-vector-wide kernel.
 * - ragged tiles (rows < MR, or columns < NR): kernels specialised on the row
 *   count, and masked loads/stores for the last vector of a row.
 *
 * Output stage, applied only after the last KC block: bias add and relu on
 * the tile in registers; other activations on the tile right after it is
 * stored (still in L1); softmax, and maxout (whose groups of pieces may
 * straddle tiles), per MC-row block once its rows are complete (in L2).
 *
 * Per element, every path but the dot path performs the same operations in
 * the same order (same KC blocks, one FMA chain per block, same output
 * stage), so results do not depend on the path, the block or the thread
 * that computed them; the dot path is chosen by the whole product's n
 * alone, so neither do its results.
 *
 * The including file defines:
 *   T, SUF (f32/f64), PREFIX (function name prefix), MR, NR, KC, MC, NC,
 *   GEMV_VECS (vectors per pass of the one-row kernel), and the vector layer:
 *   VEC, VW (lanes), VLOAD, VSTORE (unaligned), VLOAD_PART(p, n),
 *   VSTORE_PART(p, v, n) (first n < VW lanes only, never touching the rest),
 *   VBCAST, VZERO, VFMA(a, b, c) = a * b + c, VMUL, VADD, VDIV, VSEL_GT(a, b, x,
 *   y) and VSEL_LT (a > b, a < b ? x : y, lane by lane; false for NaN), VRELU (max(v, 0),
 *   NaN stays NaN), and where VW > 1 VREDUCE(v) (the sum of v's lanes, as a
 *   T). Optionally VREGS, the vector registers (default 16).
 * NR must be a multiple of VW; MC a multiple of MR. Optionally
 * TRANSPOSE8(src, lds, dst, ldd): dst[q * ldd + r] = src[r * lds + q] for an
 * 8 x 8 block (in registers), for packing a transposed B (NR a multiple of 8).
 */

#define FM_CAT_(a, b) a##b
#define FM_CAT(a, b) FM_CAT_(a, b)
#define FM_NAME(x) FM_CAT(PREFIX, x)
/* Unroll hints for the loops over a tile's rows and vectors, whose counts
 * are constants once tile_kernel & co. are inlined: GCC's `#pragma GCC
 * unroll` then unrolls them fully, keeping the tile in registers. Not for
 * clang, which applies the hint while it optimises those functions alone,
 * with run-time counts (a partial unroll and remainder loops that it no
 * longer unrolls after inlining, the tile left in memory: clang 14 made 32
 * fmla of the NEON float micro-kernel, GCC 552); without hints clang fully
 * unrolls the constant-count loops by itself (288 fmla, the 8 x 12 loop of
 * 24 fmla). */
#ifndef FM_UNROLL
#if defined(__clang__)
#define FM_UNROLL(n)
#else
#define FM_PRAGMA_(x) _Pragma(#x)
#define FM_UNROLL(n) FM_PRAGMA_(GCC unroll n)
#endif
#endif
#define NV (NR / VW)
#define SMALL_M (4 * MR)
/* One-vector-wide strips exist only where a vector has several lanes. */
#define NARROW (VW > 1 && NV > 1)
/* The driver reads a transposed A in place rather than packing it (set by
 * the kernel set where measured faster; see gemm()). */
#ifndef A_T_IN_PLACE
#define A_T_IN_PLACE 0
#endif
/* tile_kernel's grouped addressing of A in place (see there). */
#if VW > 1 && defined(__x86_64__)
#define FM_A_GROUPS 1
#else
#define FM_A_GROUPS 0
#endif
#ifndef VREGS
#define VREGS 16
#endif
/* Narrow C (n < VW): accumulators of a column tile (three quarters of the
 * registers, the rest for A's vectors and a broadcast) and its vectors of
 * rows for n columns: at most 8, at least 1. */
#define COL_ACCS (VREGS * 3 / 4)
#define COL_MV(n) (COL_ACCS / (n) > 8 ? 8 : (COL_ACCS / (n) < 1 ? 1 : COL_ACCS / (n)))
/* Narrow C takes the column path from this many rows (one whole vector). */
#define COL_MIN_M VW
/* Few rows, wide C and B transposed take the transposed tiles (gemm_tr)
 * where there are registers for them and an 8 x 8 transpose to store them. */
#if defined(TRANSPOSE8) && VREGS >= 32 && VW >= 8
#define TR_PATH 1
#else
#define TR_PATH 0
#endif
#define TR_MIN_M 16

_Static_assert(MR >= 1 && MR <= 12, "microkernel() instantiates row counts up to 12");
_Static_assert(NR % VW == 0, "NR must be a whole number of vectors");
_Static_assert(GEMV_VECS % NV == 0, "the one-row kernel covers whole NR strips");

typedef FM_CAT(fm_gemm_problem_, SUF) FM_NAME(problem);
typedef FM_CAT(fm_gemm_step_, SUF) FM_NAME(step_rule);

static inline int64_t FM_NAME(min)(int64_t a, int64_t b) { return a < b ? a : b; }

/* A step rule's constants broadcast (internal.h, fm_gemm_step; d: inv or
 * divisor, lo = -clip, hi = clip). */
typedef struct {
    VEC l2, l1, d, lo, hi, keep, neg_lr, mu;
} FM_NAME(step_consts);

static FM_ALWAYS_INLINE FM_NAME(step_consts) FM_NAME(step_consts_of)(const FM_NAME(step_rule) *st)
{
    FM_NAME(step_consts) k;
    k.l2 = VBCAST(st->l2);
    k.l1 = VBCAST(st->l1);
    k.d = VBCAST(st->recip ? st->inv : st->divisor);
    k.lo = VBCAST(-st->clip);
    k.hi = VBCAST(st->clip);
    k.keep = VBCAST(st->keep);
    k.neg_lr = VBCAST(st->neg_lr);
    k.mu = VBCAST(st->mu);
    return k;
}

/*
 * The SGD step on one vector of sums s (internal.h, fm_gemm_step) with the
 * rule's flags (compile-time constants in the common cases, step_tile):
 * returns the new w; the new velocity into *v (forms 0 and 1). The
 * operations and their order are step_value's below, value by value.
 */
static FM_ALWAYS_INLINE VEC FM_NAME(step_vec)(const int form, const int pen, const int recip,
                                              const int clip_on, const int decay,
                                              const FM_NAME(step_consts) *k, VEC s, VEC w, VEC *v)
{
    VEC g = s;
    if (pen == FM_FINISH_L2 || pen == FM_FINISH_ELASTICNET)
        g = VADD(g, VMUL(k->l2, w));
    if (pen == FM_FINISH_L1 || pen == FM_FINISH_ELASTICNET) {
        const VEC one = VBCAST((T)1), zero = VZERO();
        const VEC sign = VADD(VSEL_GT(w, zero, one, zero), VSEL_LT(w, zero, VBCAST((T)-1), zero));
        g = VADD(g, VMUL(k->l1, sign));
    }
    g = recip ? VMUL(g, k->d) : VDIV(g, k->d);
    if (clip_on)
        g = VSEL_LT(g, k->lo, k->lo, VSEL_GT(g, k->hi, k->hi, g));
    const VEC p = decay ? VMUL(w, k->keep) : w;
    const VEC lr_g = VMUL(k->neg_lr, g);
    if (form == 2)
        return VADD(p, lr_g);
    *v = VADD(VMUL(k->mu, *v), lr_g);
    return VADD(p, form == 1 ? VADD(VMUL(k->mu, *v), lr_g) : *v);
}

/* step_vec for one value (gemm_step): the same operations. */
static inline T FM_NAME(step_value)(const FM_NAME(step_rule) *st, T s, T w, T *v)
{
    const int pen = st->penalty;
    T g = s;
    if (pen == FM_FINISH_L2 || pen == FM_FINISH_ELASTICNET)
        g = g + st->l2 * w;
    if (pen == FM_FINISH_L1 || pen == FM_FINISH_ELASTICNET)
        g = g + st->l1 * (T)((w > (T)0) - (w < (T)0));
    g = st->recip ? g * st->inv : g / st->divisor;
    if (st->clip_on)
        g = g < -st->clip ? -st->clip : (g > st->clip ? st->clip : g);
    const T p = st->decay ? w * st->keep : w;
    const T lr_g = st->neg_lr * g;
    if (st->form == 2)
        return p + lr_g;
    *v = st->mu * *v + lr_g;
    return p + (st->form == 1 ? st->mu * *v + lr_g : *v);
}

/* step_tile's body for one combination of the rule's flags. */
static FM_ALWAYS_INLINE void FM_NAME(step_tile_)(const int form, const int pen, const int recip,
                                                 const int clip_on, const int decay, int rows,
                                                 int nvec, const VEC *sums, T *restrict c,
                                                 T *restrict vt, int64_t ldc, int cols,
                                                 const FM_NAME(step_rule) *st)
{
    const FM_NAME(step_consts) k = FM_NAME(step_consts_of)(st);
    for (int i = 0; i < rows; i++)
        for (int v = 0; v < nvec; v++) {
            const int lanes = cols - v * VW;
            if (lanes <= 0)
                break;
            T *cp = c + i * ldc + v * VW;
            T *vp = form != 2 ? vt + i * ldc + v * VW : NULL;
            const VEC s = sums[i * NV + v];
            if (lanes >= VW) {
                VEC vv = form != 2 ? VLOAD(vp) : VZERO();
                VSTORE(cp, FM_NAME(step_vec)(form, pen, recip, clip_on, decay, &k, s, VLOAD(cp),
                                             &vv));
                if (form != 2)
                    VSTORE(vp, vv);
            } else {
                VEC vv = form != 2 ? VLOAD_PART(vp, lanes) : VZERO();
                VSTORE_PART(cp,
                            FM_NAME(step_vec)(form, pen, recip, clip_on, decay, &k, s,
                                              VLOAD_PART(cp, lanes), &vv),
                            lanes);
                if (form != 2)
                    VSTORE_PART(vp, vv, lanes);
            }
        }
}

/*
 * The step's output stage for a rows x (nvec * VW) tile of W = C (`cols`
 * valid columns) and its velocity vt (forms 0 and 1), from the tile's sums
 * (row i's vector v at sums[i * NV + v]): one loop per combination of the
 * common flags (no penalty or L2, no clipping, no decay: each form, either
 * divisor), the rule's constants broadcast once a tile; the rest (L1,
 * elastic net, clipping by value, weight decay) in one loop testing the
 * flags as it goes. Not inlined into the tile kernel: there the compiler
 * hoists the constants above the k loop, into registers the tile needs
 * (NEON: 47 stack loads / stores per k step).
 */
static FM_NOINLINE void FM_NAME(step_tile)(int rows, int nvec, const VEC *sums, T *restrict c,
                                           T *restrict vt, int64_t ldc, int cols,
                                           const FM_NAME(step_rule) *st)
{
    const int common = (st->penalty == FM_FINISH_NONE || st->penalty == FM_FINISH_L2) &&
                       !st->clip_on && !st->decay;
#define FM_STEP_CASE(form, l2, recip)                                                        \
    case (form) * 4 + (l2) * 2 + (recip):                                                    \
        FM_NAME(step_tile_)(form, (l2) ? FM_FINISH_L2 : FM_FINISH_NONE, recip, 0, 0, rows, nvec, \
                            sums, c, vt, ldc, cols, st);                                      \
        return;
    if (common)
        switch (st->form * 4 + (st->penalty == FM_FINISH_L2) * 2 + (st->recip != 0)) {
            FM_STEP_CASE(0, 0, 0) FM_STEP_CASE(0, 0, 1) FM_STEP_CASE(0, 1, 0) FM_STEP_CASE(0, 1, 1)
            FM_STEP_CASE(1, 0, 0) FM_STEP_CASE(1, 0, 1) FM_STEP_CASE(1, 1, 0) FM_STEP_CASE(1, 1, 1)
            FM_STEP_CASE(2, 0, 0) FM_STEP_CASE(2, 0, 1) FM_STEP_CASE(2, 1, 0) FM_STEP_CASE(2, 1, 1)
        default:
            break;
        }
#undef FM_STEP_CASE
    FM_NAME(step_tile_)(st->form, st->penalty, st->recip, st->clip_on, st->decay, rows, nvec, sums,
                        c, vt, ldc, cols, st);
}

/*
 * Output stage of `nvec` vectors of one row of C holding `cols` valid columns
 * (the last vector may be partial): c = alpha * acc + beta * c + bias, relu;
 * with post_on, c = (alpha * acc) * post + c (beta 1): Keras's SGD without
 * momentum at a divisor with an exact reciprocal, step_vec's form 2 with
 * alpha = inv and post = neg_lr, which needs no step_tile (tile_kernel).
 */
static FM_ALWAYS_INLINE void
FM_NAME(store_row)(const int nvec, const VEC *acc, T *restrict c, int cols, T alpha,
                   T beta, const T *restrict bias, int relu, int post_on, T post)
{
    const VEC va = VBCAST(alpha), vb = VBCAST(beta), vp = VBCAST(post);
FM_UNROLL(16)
    for (int v = 0; v < nvec; v++) {
        const int lanes = cols - v * VW;
        if (lanes <= 0)
            break;
        T *cp = c + v * VW;
        VEC r = VMUL(acc[v], va);
        if (post_on)
            r = VMUL(r, vp);
        if (lanes >= VW) {
            if (beta == (T)1)
                r = VADD(r, VLOAD(cp));
            else if (beta != (T)0)
                r = VADD(r, VMUL(vb, VLOAD(cp)));
            if (bias != NULL)
                r = VADD(r, VLOAD(bias + v * VW));
            if (relu)
                r = VRELU(r);
            VSTORE(cp, r);
        } else {
            if (beta == (T)1)
                r = VADD(r, VLOAD_PART(cp, lanes));
            else if (beta != (T)0)
                r = VADD(r, VMUL(vb, VLOAD_PART(cp, lanes)));
            if (bias != NULL)
                r = VADD(r, VLOAD_PART(bias + v * VW, lanes));
            if (relu)
                r = VRELU(r);
            VSTORE_PART(cp, r, lanes);
        }
    }
}

#if VW == 1
/* store_row for each row of a tile held in `sums` (rows of NV values). */
static FM_NOINLINE void FM_NAME(store_tile)(int rows, int nvec, const VEC *sums, T *restrict c,
                                            int64_t ldc, int cols, T alpha, T beta,
                                            const T *restrict bias, int relu, int post_on,
                                            T post)
{
    for (int i = 0; i < rows; i++)
        FM_NAME(store_row)(nvec, sums + i * NV, c + i * ldc, cols, alpha, beta, bias, relu,
                           post_on, post);
}
#endif

/*
 * rows x (nvec * VW) tile of C, of which `cols` columns are stored:
 *   c = alpha * (A-strip @ B-strip) + beta * c + bias, then relu
 * (post_on: store_row's post); with a step, W = C and its velocity vt take
 * the step from the sums (step_tile).
 * A-strip: if `packed`, kc steps of `rows` contiguous values, lda apart
 * (MR in a packed strip, A's own lda for a transposed A read in place),
 * else rows of A in place with leading dimension lda. B-strip: kc rows of at least nvec * VW
 * values, row stride rsb. beta == 0 never reads c.
 * Always inlined with constant rows / nvec / packed, so each combination is
 * its own fully unrolled kernel (see microkernel below).
 */
static FM_ALWAYS_INLINE void
FM_NAME(tile_kernel)(const int rows, const int nvec, const int packed, int64_t kc,
                     const T *restrict a, int64_t lda, const T *restrict b, int64_t rsb,
                     T *restrict c, int64_t ldc, int cols, T alpha, T beta,
                     const T *restrict bias, int relu, const int stepped,
                     const FM_NAME(step_rule) *restrict step, T *restrict vt, int post_on,
                     T post)
{
    VEC acc[MR][NV];
FM_UNROLL(16)
    for (int i = 0; i < rows; i++)
FM_UNROLL(8)
        for (int v = 0; v < nvec; v++)
            acc[i][v] = VZERO();
    /* The tile of C is read (beta != 0) and written after the kc steps:
     * fetch its lines meanwhile (from L3 or memory for big C). */
FM_UNROLL(16)
    for (int i = 0; i < rows; i++) {
        FM_PREFETCH(c + i * ldc, 1, 3);
        FM_PREFETCH(c + i * ldc + nvec * VW - 1, 1, 3);
    }

    /* A in place: row i at ag[i / 3] + (i % 3) * lda where FM_A_GROUPS, so
     * twelve rows take four pointers and lda (x86's scaled addressing gives
     * 0, lda, 2 * lda) rather than twelve offsets, of which GCC kept up to
     * eight on the stack (a load each per k step). Zen 4, avx512 float,
     * 32 x 300 x 784: 144.5 -> 141.5 us. Not for the scalar kernel, which
     * the grouping slowed (wg 750 -> 785 us), nor NEON's 31 registers. */
    const T *ag[(MR + 2) / 3];
FM_UNROLL(4)
    for (int g = 0; g < (rows + 2) / 3; g++)
        ag[g] = a + 3 * g * lda;
    for (int64_t p = 0; p < kc; p++) {
        VEC bv[NV];
FM_UNROLL(8)
        for (int v = 0; v < nvec; v++)
            bv[v] = VLOAD(b + v * VW);
FM_UNROLL(16)
        for (int i = 0; i < rows; i++) {
            const VEC ai = VBCAST(packed ? a[i] : FM_A_GROUPS ? ag[i / 3][(i % 3) * lda] : a[i * lda]);
FM_UNROLL(8)
            for (int v = 0; v < nvec; v++)
                acc[i][v] = VFMA(ai, bv[v], acc[i][v]);
        }
        if (!packed && FM_A_GROUPS) {
FM_UNROLL(4)
            for (int g = 0; g < (rows + 2) / 3; g++)
                ag[g]++;
        }
        if (rsb != NR) {
            /* B in place (few rows): this row of the next strip, into L2
             * for the next tile. The rows are ldb apart (4 KiB for
             * n = 1024), which no hardware prefetcher follows. */
            FM_PREFETCH(b + NR, 0, 2);
            FM_PREFETCH(b + 2 * NR - 1, 0, 2);
        }
        a += packed ? lda : 1;
        b += rsb;
    }
    if (stepped) {
        VEC sums[MR * NV];
FM_UNROLL(16)
        for (int i = 0; i < rows; i++)
FM_UNROLL(8)
            for (int v = 0; v < nvec; v++)
                sums[i * NV + v] = acc[i][v];
        FM_NAME(step_tile)(rows, nvec, sums, c, vt, ldc, cols, step);
        return;
    }
#if VW == 1
    /* Scalar kernel: the tile through memory to store_tile, which lets GCC
     * vectorize the k loop with the baseline ISA (SSE2: the 8 columns of a
     * row as two vectors; x86-64 32 x 300 x 784 1770 -> 480 us). */
    VEC sums[MR * NV];
FM_UNROLL(16)
    for (int i = 0; i < rows; i++)
FM_UNROLL(8)
        for (int v = 0; v < nvec; v++)
            sums[i * NV + v] = acc[i][v];
    FM_NAME(store_tile)(rows, nvec, sums, c, ldc, cols, alpha, beta, bias, relu, post_on, post);
#else
FM_UNROLL(16)
    for (int i = 0; i < rows; i++)
        FM_NAME(store_row)(nvec, acc[i], c + i * ldc, cols, alpha, beta, bias, relu, post_on,
                           post);
#endif
}

/*
 * The tile kernel for 1 <= rows <= MR with `rows`, `nvec` and `packed`
 * compile-time constants in each branch: strips NV vectors wide or, where
 * NARROW, one vector wide (`narrow`); A packed or read in place.
 * Not inlined: inside the driver the compiler allocates registers worse
 * (measured: avx2 lost half its speed).
 * FM_MICROKERNEL_(name, stepped) defines it twice: `microkernel` for the
 * plain products and `microkernel_step` for a step in the product, so the
 * plain products carry neither the step's pointers nor its test (at k = 32
 * a tile is ~250 ns: the extra arguments cost 1-3%).
 */
#define FM_MICROKERNEL_(name, stepped)                                                       \
    static FM_NOINLINE void FM_NAME(name)(                                                   \
        int rows, int narrow, int packed, int64_t kc, const T *restrict a, int64_t lda,     \
        const T *restrict b, int64_t rsb, T *restrict c, int64_t ldc, int cols,             \
        FM_MICROKERNEL_ARGS_##stepped)                                                       \
    {                                                                                        \
        switch (rows) {                                                                      \
            FM_ROWS_CASE(1, stepped) FM_ROWS_CASE(2, stepped) FM_ROWS_CASE(3, stepped)       \
            FM_ROWS_CASE(4, stepped) FM_ROWS_CASE(5, stepped) FM_ROWS_CASE(6, stepped)       \
            FM_ROWS_CASE(7, stepped) FM_ROWS_CASE(8, stepped) FM_ROWS_CASE(9, stepped)       \
            FM_ROWS_CASE(10, stepped) FM_ROWS_CASE(11, stepped) FM_ROWS_CASE(12, stepped)    \
        default:                                                                             \
            break;                                                                           \
        }                                                                                    \
    }
/* The plain kernel's output stage; the stepped kernel's step. */
#define FM_MICROKERNEL_ARGS_0 T alpha, T beta, const T *restrict bias, int relu, int post_on, T post
#define FM_MICROKERNEL_ARGS_1 const FM_NAME(step_rule) *step, T *vt
#define FM_TILE_ARGS_0 alpha, beta, bias, relu, 0, NULL, NULL, post_on, post
#define FM_TILE_ARGS_1 (T)0, (T)0, NULL, 0, 1, step, vt, 0, (T)0
#define FM_CALL(r, nv, pk, stepped)                                                        \
    FM_NAME(tile_kernel)(r <= MR ? r : MR, nv, pk, kc, a, lda, b, rsb, c, ldc, cols,       \
                         FM_TILE_ARGS_##stepped)
#define FM_ROWS_CASE(r, stepped)                                                           \
    case r:                                                                                \
        if (r <= MR) {                                                                     \
            if (!narrow && packed)                                                         \
                FM_CALL(r, NV, 1, stepped);                                                \
            else if (!narrow)                                                              \
                FM_CALL(r, NV, 0, stepped);                                                \
            else if (NARROW && packed)                                                     \
                FM_CALL(r, 1, 1, stepped);                                                 \
            else if (NARROW)                                                               \
                FM_CALL(r, 1, 0, stepped);                                                 \
        }                                                                                  \
        break;
FM_MICROKERNEL_(microkernel, 0)
FM_MICROKERNEL_(microkernel_step, 1)
#undef FM_ROWS_CASE
#undef FM_CALL
#undef FM_TILE_ARGS_0
#undef FM_TILE_ARGS_1
#undef FM_MICROKERNEL_ARGS_0
#undef FM_MICROKERNEL_ARGS_1
#undef FM_MICROKERNEL_

/*
 * One row of C (m == 1, B not transposed): a matrix-vector product, bound by
 * reading B. Each pass takes GEMV_VECS vectors of every B row (whole rows
 * when n is small), so B streams almost sequentially with that many
 * independent sums in flight, where NR-wide strips would take 128 bytes per
 * row. a: op(A)'s row, element p at a[p * as]; c: n_main outputs, n_main a
 * multiple of NR.
 */
static FM_ALWAYS_INLINE void
FM_NAME(row_pass)(const int nvec, int64_t kc, const T *restrict a, int64_t as,
                  const T *restrict b, int64_t ldb, T *restrict c, T alpha, T beta,
                  const T *restrict bias, int relu)
{
    VEC acc[GEMV_VECS];
FM_UNROLL(16)
    for (int v = 0; v < nvec; v++)
        acc[v] = VZERO();
    for (int64_t p = 0; p < kc; p++) {
        const VEC av = VBCAST(a[p * as]);
FM_UNROLL(16)
        for (int v = 0; v < nvec; v++)
            acc[v] = VFMA(av, VLOAD(b + p * ldb + v * VW), acc[v]);
    }
    FM_NAME(store_row)(nvec, acc, c, nvec * VW, alpha, beta, bias, relu, 0, (T)0);
}

static FM_NOINLINE void
FM_NAME(gemv)(int64_t n_main, int64_t k, int64_t kc_size, const T *a, int64_t as,
              const T *b, int64_t ldb, T *c, T alpha, T beta, const T *bias, int relu)
{
    for (int64_t pc = 0; pc < k; pc += kc_size) {
        const int64_t kc = FM_NAME(min)(kc_size, k - pc);
        const int last = pc + kc == k;
        const T beta_eff = pc == 0 ? beta : (T)1;
        const T *ap = a + pc * as, *bp = b + pc * ldb;
        int64_t j = 0;
        /* Constant widths (GEMV_VECS, then NV) keep the sums in registers. */
        for (; j + GEMV_VECS * VW <= n_main; j += GEMV_VECS * VW)
            FM_NAME(row_pass)(GEMV_VECS, kc, ap, as, bp + j, ldb, c + j, alpha, beta_eff,
                              last && bias ? bias + j : NULL, last && relu);
        for (; j < n_main; j += NR)
            FM_NAME(row_pass)(NV, kc, ap, as, bp + j, ldb, c + j, alpha, beta_eff,
                              last && bias ? bias + j : NULL, last && relu);
    }
}


#if VW > 1
/* store_row's output stage for `count` (<= VW) rows of one column of C at
 * cj (stride ldc), through a small buffer: c = alpha * acc + beta * c +
 * bias (one value, or NULL), then relu. */
static FM_ALWAYS_INLINE void
FM_NAME(store_col)(VEC acc, T *restrict cj, int64_t ldc, int count, T alpha, T beta,
                   const T *restrict bias, int relu)
{
    T tmp[VW];
    VEC r = VMUL(acc, VBCAST(alpha));
    if (beta != (T)0) {
        for (int q = 0; q < VW; q++)
            tmp[q] = q < count ? cj[q * ldc] : (T)0;
        r = beta == (T)1 ? VADD(r, VLOAD(tmp)) : VADD(r, VMUL(VBCAST(beta), VLOAD(tmp)));
    }
    if (bias != NULL)
        r = VADD(r, VBCAST(*bias));
    if (relu)
        r = VRELU(r);
    VSTORE(tmp, r);
    for (int q = 0; q < count; q++)
        cj[q * ldc] = tmp[q];
}

/*
 * Column tile of narrow C (n < VW): `nv` vectors of VW rows by `ncols`
 * columns, c = alpha * (op(A) @ op(B)) + beta * c + bias, then relu; the
 * same operations per element as tile_kernel / store_row (one FMA chain
 * over the kc steps, then the output stage), so the same bits.
 * A: vector v of step p at a + p * astep + v * vstep (op(A)'s column in
 * place, or packed strips); with `partial` the last vector holds only
 * `lanes` rows (masked loads). op(B)[p][j] at b[p * ncols + j] (packed by
 * pack_b_rows: constant offsets, so the ncols broadcast addresses need no
 * registers; with op(B)'s strides the compiler spilled them).
 * C: `rows` (<= nv * VW) rows of ncols values, leading dimension ldc.
 */
static FM_ALWAYS_INLINE void
FM_NAME(col_tile)(const int ncols, const int nv, const int partial, int64_t kc,
                  const T *restrict a, int64_t astep, int64_t vstep, int lanes,
                  const T *restrict b, T *restrict c, int64_t ldc, int rows, T alpha, T beta,
                  const T *restrict bias, int relu)
{
    VEC acc[VW][8];
FM_UNROLL(16)
    for (int j = 0; j < ncols; j++)
FM_UNROLL(8)
        for (int v = 0; v < nv; v++)
            acc[j][v] = VZERO();
    for (int64_t p = 0; p < kc; p++) {
        VEC av[8];
FM_UNROLL(8)
        for (int v = 0; v < nv; v++)
            av[v] = partial && v == nv - 1 ? VLOAD_PART(a + v * vstep, lanes)
                                           : VLOAD(a + v * vstep);
FM_UNROLL(16)
        for (int j = 0; j < ncols; j++) {
            const VEC bj = VBCAST(b[j]);
FM_UNROLL(8)
            for (int v = 0; v < nv; v++)
                acc[j][v] = VFMA(av[v], bj, acc[j][v]);
        }
        a += astep;
        b += ncols;
    }
    for (int j = 0; j < ncols; j++) {
        for (int v = 0; v < nv; v++) {
            const int count = rows - v * VW < VW ? rows - v * VW : VW;
            if (count <= 0)
                break;
            FM_NAME(store_col)(acc[j][v], c + (int64_t)v * VW * ldc + j, ldc, count, alpha, beta,
                               bias != NULL ? bias + j : NULL, relu);
        }
    }
}

/* col_tile with ncols, nv and partial constant in each branch: nv is
 * COL_MV(ncols) (`full`) or 1. */
static FM_NOINLINE void
FM_NAME(col_kernel)(int ncols, int full, int partial, int64_t kc, const T *restrict a,
                    int64_t astep, int64_t vstep, int lanes, const T *restrict b,
                    T *restrict c, int64_t ldc, int rows, T alpha, T beta,
                    const T *restrict bias, int relu)
{
#define FM_COL_CALL(n, mv, pt)                                                              \
    FM_NAME(col_tile)(n, mv, pt, kc, a, astep, vstep, lanes, b, c, ldc, rows, alpha, beta,  \
                      bias, relu)
#define FM_COL_CASE(n)                                                                      \
    case n:                                                                                 \
        if (n < VW) {                                                                       \
            if (full)                                                                       \
                FM_COL_CALL(n < VW ? n : 1, COL_MV(n), 0);                                  \
            else if (partial)                                                               \
                FM_COL_CALL(n < VW ? n : 1, 1, 1);                                          \
            else                                                                            \
                FM_COL_CALL(n < VW ? n : 1, 1, 0);                                          \
        }                                                                                   \
        break;
    switch (ncols) {
        FM_COL_CASE(1) FM_COL_CASE(2) FM_COL_CASE(3) FM_COL_CASE(4) FM_COL_CASE(5)
        FM_COL_CASE(6) FM_COL_CASE(7) FM_COL_CASE(8) FM_COL_CASE(9) FM_COL_CASE(10)
        FM_COL_CASE(11) FM_COL_CASE(12) FM_COL_CASE(13) FM_COL_CASE(14) FM_COL_CASE(15)
    default:
        break;
    }
#undef FM_COL_CASE
#undef FM_COL_CALL
}

/* Pack `rows` (<= VW) rows of op(A) = A (not transposed), kc steps from
 * `a`, into one column strip: dst[p * VW + r] = a[r * lda + p], rows past
 * `rows` zero. */
static void FM_NAME(pack_col_strip)(int rows, int64_t kc, const T *restrict a, int64_t lda,
                                    T *restrict dst)
{
    int r0 = 0;
#ifdef TRANSPOSE8
    for (; r0 + 8 <= rows; r0 += 8) {
        int64_t p = 0;
        for (; p + 8 <= kc; p += 8)
            TRANSPOSE8(a + r0 * lda + p, lda, dst + p * VW + r0, VW);
        for (; p < kc; p++)
            for (int r = r0; r < r0 + 8; r++)
                dst[p * VW + r] = a[r * lda + p];
    }
#endif
    for (int64_t p = 0; p < kc; p++) {
        for (int r = r0; r < rows; r++)
            dst[p * VW + r] = a[r * lda + p];
        for (int r = rows; r < VW; r++)
            dst[p * VW + r] = 0;
    }
}

/* op(B)'s kc x n block at `b` (row-major or, trans, n rows of kc) as kc
 * rows of n values: dst[p * n + j] = op(B)[p][j]. */
static void FM_NAME(pack_b_rows)(int64_t kc, int64_t n, const T *restrict b, int64_t ldb,
                                 int trans, T *restrict dst)
{
    for (int64_t p = 0; p < kc; p++)
        for (int64_t j = 0; j < n; j++)
            dst[p * n + j] = trans ? b[j * ldb + p] : b[p * ldb + j];
}

/* Elements of the column path's buffer: COL_MV(n) strips of VW x KC of A
 * when A is not transposed, then op(B)'s KC x n block, both in whole
 * 64-byte lines. */
static inline int64_t FM_NAME(col_a_elems)(int trans_a, int64_t n, int64_t kc_size)
{
    const int64_t round = 64 / (int64_t)sizeof(T);
    return trans_a ? 0 : ((int64_t)COL_MV(n) * VW * kc_size + round - 1) / round * round;
}

/* Narrow C (n < VW, m >= COL_MIN_M): column tiles over the KC blocks, as
 * the blocked driver's; `buf` holds col_a_elems of A's strips, then op(B)'s
 * block. Activations other than relu are left to the caller. */
static void FM_NAME(gemm_cols)(const FM_NAME(problem) *pr, int64_t kc_size, T *restrict buf)
{
    const int64_t m = pr->m, k = pr->k;
    const int n = (int)pr->n, mv = COL_MV(pr->n);
    const int relu = pr->act.kind == FM_ACT_RELU;
    T *const bbuf = buf + FM_NAME(col_a_elems)(pr->trans_a, n, kc_size);
    for (int64_t pc = 0; pc < k; pc += kc_size) {
        const int64_t kc = FM_NAME(min)(kc_size, k - pc);
        const int last = pc + kc == k;
        const T beta_eff = pc == 0 ? pr->beta : (T)1;
        const T *bias = last ? pr->bias : NULL;
        FM_NAME(pack_b_rows)(kc, n, pr->trans_b ? pr->b + pc : pr->b + pc * pr->ldb, pr->ldb,
                             pr->trans_b, bbuf);
        for (int64_t i0 = 0; i0 < m;) {
            const int64_t left = m - i0;
            /* Whole tiles of mv vectors, then one vector at a time. */
            const int full = left >= (int64_t)mv * VW;
            const int rows = full ? mv * VW : (int)FM_NAME(min)(VW, left);
            T *ct = pr->c + i0 * pr->ldc;
            if (pr->trans_a) {
                const T *ap = pr->a + pc * pr->lda + i0;
                FM_NAME(col_kernel)(n, full, rows < VW, kc, ap, pr->lda, VW, rows, bbuf, ct,
                                    pr->ldc, rows, pr->alpha, beta_eff, bias, last && relu);
            } else {
                const int strips = (rows + VW - 1) / VW;
                for (int v = 0; v < strips; v++)
                    FM_NAME(pack_col_strip)((int)FM_NAME(min)(VW, rows - v * VW), kc,
                                            pr->a + (i0 + v * VW) * pr->lda + pc, pr->lda,
                                            buf + v * VW * kc);
                FM_NAME(col_kernel)(n, full, 0, kc, buf, VW, VW * kc, VW, bbuf, ct, pr->ldc,
                                    rows, pr->alpha, beta_eff, bias, last && relu);
            }
            i0 += rows;
        }
    }
}

/*
 * Narrow C (n <= DOT_MAX_N): each element is a dot product of a row of
 * op(A) and a column of op(B), both contiguous along k (packed when the
 * operand's layout has them strided), with vectors along k
 * and a horizontal sum (VREDUCE) per element. Bound by reading A (from L2
 * for a 200 x 100 block; measured on Sapphire Rapids: n = 1 at OpenBLAS's
 * speed, an 8-sum shuffle tree instead of VREDUCE no faster, n = 10 slower
 * than the column path). DOT_MAX_N is 1: the kernels take any n up to 4,
 * but n = 2-4 gave no clear gain, and changing those products' bits made
 * tests/test_optimizers.py's engine-versus-NumPy Adam step differ in the
 * last bit (that comparison holds for main's numbers on its seed only:
 * with other data it differs on main too). The column
 * path would transpose A into strips first, which for n = 1 costs more than
 * the product (200 x 100 x 1: 4 us of packing for 0.3 us of multiply-adds).
 * A tile is DOT_ROWS(n) rows (or one, for the last rows) by n columns:
 * DOT_ACCS sums at most, every vector of A and of op(B) loaded once per
 * tile and step.
 *
 * Its own summation order (VW partial sums over the whole k, no KC blocks,
 * then the lanes' sum) differs from the other paths' FMA chain, so it is
 * chosen by the whole product's n alone (n_whole for a column part of
 * one), never by m or a layout: a row's bits do not depend on how many rows
 * the call or its thread has, on a split of the columns, or on whether an
 * operand is transposed.
 */
#define DOT_MAX_N 1
#define DOT_ACCS COL_ACCS /* three quarters of the registers, as the column tiles */
#define DOT_ROWS(n) (DOT_ACCS / (n) > 8 ? 8 : DOT_ACCS / (n))
_Static_assert(DOT_MAX_N <= 4 && DOT_MAX_N <= DOT_ACCS, "dot_kernel() instantiates widths 1-4");
static FM_ALWAYS_INLINE void
FM_NAME(dot_tile)(const int rows, const int ncols, int64_t k, const T *restrict a, int64_t lda,
                  const T *restrict bt, int64_t ldbt, T *restrict c, int64_t ldc, T alpha,
                  T beta, const T *restrict bias, int relu)
{
    VEC acc[DOT_ACCS]; /* acc[r * ncols + j]: row r, column j */
FM_UNROLL(32)
    for (int q = 0; q < rows * ncols; q++)
        acc[q] = VZERO();
    int64_t p = 0;
    for (; p + VW <= k; p += VW) {
        VEC bv[DOT_MAX_N];
FM_UNROLL(16)
        for (int j = 0; j < ncols; j++)
            bv[j] = VLOAD(bt + j * ldbt + p);
FM_UNROLL(16)
        for (int r = 0; r < rows; r++) {
            const VEC av = VLOAD(a + r * lda + p);
FM_UNROLL(16)
            for (int j = 0; j < ncols; j++)
                acc[r * ncols + j] = VFMA(av, bv[j], acc[r * ncols + j]);
        }
    }
    if (p < k) {
        /* Masked loads: the lanes past k are zero in both operands. */
        const int lanes = (int)(k - p);
        VEC bv[DOT_MAX_N];
FM_UNROLL(16)
        for (int j = 0; j < ncols; j++)
            bv[j] = VLOAD_PART(bt + j * ldbt + p, lanes);
FM_UNROLL(16)
        for (int r = 0; r < rows; r++) {
            const VEC av = VLOAD_PART(a + r * lda + p, lanes);
FM_UNROLL(16)
            for (int j = 0; j < ncols; j++)
                acc[r * ncols + j] = VFMA(av, bv[j], acc[r * ncols + j]);
        }
    }
    /* store_row's output stage, one element at a time. */
FM_UNROLL(16)
    for (int r = 0; r < rows; r++)
FM_UNROLL(16)
        for (int j = 0; j < ncols; j++) {
            T *cp = c + r * ldc + j;
            T v = VREDUCE(acc[r * ncols + j]) * alpha;
            if (beta == (T)1)
                v = v + *cp;
            else if (beta != (T)0)
                v = v + beta * *cp;
            if (bias != NULL)
                v = v + bias[j];
            if (relu && v < (T)0) /* NaN and -0 stay, as in VRELU */
                v = (T)0;
            *cp = v;
        }
}

/* dot_tile with ncols constant and rows DOT_ROWS(ncols) (`full`) or 1. */
static FM_NOINLINE void
FM_NAME(dot_kernel)(int full, int ncols, int64_t k, const T *restrict a, int64_t lda,
                    const T *restrict bt, int64_t ldbt, T *restrict c, int64_t ldc, T alpha,
                    T beta, const T *restrict bias, int relu)
{
#define FM_DOT_CALL(r, n)                                                                   \
    FM_NAME(dot_tile)(r, n, k, a, lda, bt, ldbt, c, ldc, alpha, beta, bias, relu)
#define FM_DOT_CASE(n)                                                                      \
    case n:                                                                                 \
        if (n <= DOT_MAX_N) {                                                               \
            if (full)                                                                       \
                FM_DOT_CALL(DOT_ROWS(n), n <= DOT_MAX_N ? n : 1);                           \
            else                                                                            \
                FM_DOT_CALL(1, n <= DOT_MAX_N ? n : 1);                                     \
        }                                                                                   \
        break;
    switch (ncols) {
        FM_DOT_CASE(1) FM_DOT_CASE(2) FM_DOT_CASE(3) FM_DOT_CASE(4)
    default:
        break;
    }
#undef FM_DOT_CASE
#undef FM_DOT_CALL
}

/*
 * The dot path for A transposed, where op(A)'s columns (A's rows) are the
 * contiguous ones: VW rows of op(A) per vector, and the dot form's lane
 * partial l (its FMA chain over p = l, l + VW, ...) as accumulator part[l];
 * the halving tree then adds part[l] and part[l + w] as VREDUCE adds lanes
 * l and l + w, and the output stage is dot_tile's, lane by lane: the same
 * operations per element, so the same bits as A not transposed (a
 * Fortran-ordered X is the transposed operand of a C-ordered one), with A
 * read in place. One column of C: `rows` (<= VW, fewer with `partial`)
 * rows at c (stride ldc), op(A)[i][p] at a[p * lda + i], op(B)'s column at
 * bj (contiguous along k), bias NULL or the column's.
 */
static FM_ALWAYS_INLINE void
FM_NAME(dot_cols_tile)(const int partial, int rows, int64_t k, const T *restrict a,
                       int64_t lda, const T *restrict bj, T *restrict c, int64_t ldc, T alpha,
                       T beta, const T *restrict bias, int relu)
{
    VEC part[VW];
FM_UNROLL(16)
    for (int l = 0; l < VW; l++)
        part[l] = VZERO();
    int64_t p = 0;
    for (; p + VW <= k; p += VW)
FM_UNROLL(16)
        for (int l = 0; l < VW; l++) {
            const T *ap = a + (p + l) * lda;
            part[l] = VFMA(partial ? VLOAD_PART(ap, rows) : VLOAD(ap), VBCAST(bj[p + l]),
                           part[l]);
        }
FM_UNROLL(16)
    for (int l = 0; l < VW; l++)
        if (p + l < k) {
            const T *ap = a + (p + l) * lda;
            part[l] = VFMA(partial ? VLOAD_PART(ap, rows) : VLOAD(ap), VBCAST(bj[p + l]),
                           part[l]);
        }
FM_UNROLL(8)
    for (int w = VW / 2; w >= 1; w /= 2)
FM_UNROLL(16)
        for (int l = 0; l < w; l++)
            part[l] = VADD(part[l], part[l + w]);
    FM_NAME(store_col)(part[0], c, ldc, rows, alpha, beta, bias, relu);
}

static FM_NOINLINE void
FM_NAME(dot_cols_kernel)(int rows, int64_t k, const T *restrict a, int64_t lda,
                         const T *restrict bj, T *restrict c, int64_t ldc, T alpha, T beta,
                         const T *restrict bias, int relu)
{
    if (rows == VW)
        FM_NAME(dot_cols_tile)(0, VW, k, a, lda, bj, c, ldc, alpha, beta, bias, relu);
    else
        FM_NAME(dot_cols_tile)(1, rows, k, a, lda, bj, c, ldc, alpha, beta, bias, relu);
}

/* Whether `pr` takes the dot-product path: by n alone, not trans_a (see
 * dot_cols_tile). It packs op(B)'s columns (n x k) unless B is transposed
 * or one contiguous column. */
static inline int FM_NAME(takes_dot)(const FM_NAME(problem) *pr)
{
    return (pr->n_whole > 0 ? pr->n_whole : pr->n) <= DOT_MAX_N;
}
static inline int FM_NAME(dot_packs_b)(const FM_NAME(problem) *pr)
{
    return !pr->trans_b && (pr->n > 1 || pr->ldb != 1);
}

/* The dot-product path over all of C; activations other than relu are left
 * to the caller. `buf` holds n x k values when dot_packs_b. */
static void FM_NAME(gemm_dot)(const FM_NAME(problem) *pr, T *restrict buf)
{
    const int64_t m = pr->m, k = pr->k;
    const int n = (int)pr->n, step = DOT_ROWS(pr->n);
    const T *bt = pr->b;
    int64_t ldbt = pr->ldb;
    if (FM_NAME(dot_packs_b)(pr)) {
        for (int j = 0; j < n; j++)
            for (int64_t p = 0; p < k; p++)
                buf[j * k + p] = pr->b[p * pr->ldb + j];
        bt = buf;
        ldbt = k;
    }
    const int relu = pr->act.kind == FM_ACT_RELU;
    if (pr->trans_a) {
        for (int64_t i0 = 0; i0 < m; i0 += VW)
            for (int j = 0; j < n; j++)
                FM_NAME(dot_cols_kernel)((int)FM_NAME(min)(VW, m - i0), k, pr->a + i0, pr->lda,
                                         bt + j * ldbt, pr->c + i0 * pr->ldc + j, pr->ldc,
                                         pr->alpha, pr->beta,
                                         pr->bias != NULL ? pr->bias + j : NULL, relu);
        return;
    }
    for (int64_t i0 = 0; i0 < m;) {
        const int full = m - i0 >= step;
        FM_NAME(dot_kernel)(full, n, k, pr->a + i0 * pr->lda, pr->lda, bt, ldbt,
                            pr->c + i0 * pr->ldc, pr->ldc, pr->alpha, pr->beta, pr->bias, relu);
        i0 += full ? step : 1;
    }
}
#endif

/*
 * Pack the (mc, kc) block of op(A) at `a` into ceil(mc / MR) strips, each kc
 * steps of MR values; rows past mc are zero.
 */
static void FM_NAME(pack_a)(int64_t mc, int64_t kc, const T *restrict a, int64_t lda,
                            int trans, T *restrict dst)
{
    for (int64_t i0 = 0; i0 < mc; i0 += MR) {
        const int64_t mr = FM_NAME(min)(MR, mc - i0);
        if (!trans) {
            for (int64_t i = 0; i < mr; i++) {
                const T *src = a + (i0 + i) * lda;
                for (int64_t p = 0; p < kc; p++)
                    dst[p * MR + i] = src[p];
            }
        } else if (mr == MR) {
            /* A constant count: moves, not a memmove call per MR values. */
            for (int64_t p = 0; p < kc; p++) {
                const T *src = a + p * lda + i0;
FM_UNROLL(16)
                for (int i = 0; i < MR; i++)
                    dst[p * MR + i] = src[i];
            }
        } else {
            for (int64_t p = 0; p < kc; p++) {
                const T *src = a + p * lda + i0;
                for (int64_t i = 0; i < mr; i++)
                    dst[p * MR + i] = src[i];
            }
        }
        for (int64_t i = mr; i < MR; i++)
            for (int64_t p = 0; p < kc; p++)
                dst[p * MR + i] = 0;
        dst += MR * kc;
    }
}

/*
 * Pack the (kc, nc) block of op(B) at `b` into ceil(nc / NR) strips, each kc
 * rows of NR values; columns past nc are zero.
 */
static void FM_NAME(pack_b)(int64_t kc, int64_t nc, const T *restrict b, int64_t ldb,
                            int trans, T *restrict dst)
{
    for (int64_t j0 = 0; j0 < nc; j0 += NR) {
        const int64_t nr = FM_NAME(min)(NR, nc - j0);
        if (!trans && nr == NR) {
            /* Whole vectors (the compiler would otherwise call memmove per row).
             * The next strip's rows, ldb apart, are prefetched into L2: no
             * hardware prefetcher follows them (1-4% on 32 x 784 x 256 and
             * 32 x 1024 x 1024, Zen 3). */
            for (int64_t p = 0; p < kc; p++) {
FM_UNROLL(8)
                for (int v = 0; v < NV; v++)
                    VSTORE(dst + p * NR + v * VW, VLOAD(b + p * ldb + j0 + v * VW));
                FM_PREFETCH(b + p * ldb + j0 + NR, 0, 2);
                FM_PREFETCH(b + p * ldb + j0 + 2 * NR - 1, 0, 2);
            }
        } else if (!trans) {
            for (int64_t p = 0; p < kc; p++) {
                const T *src = b + p * ldb + j0;
                int64_t j = 0;
                for (; j < nr; j++)
                    dst[p * NR + j] = src[j];
                for (; j < NR; j++)
                    dst[p * NR + j] = 0;
            }
        } else {
            int64_t p0 = 0;
#ifdef TRANSPOSE8
            /* Whole strips, 8 x 8 blocks transposed in registers (the scalar
             * loop below stores one value per instruction, with a stride). */
            if (nr == NR)
                for (; p0 + 8 <= kc; p0 += 8)
                    for (int j8 = 0; j8 < NR; j8 += 8)
                        TRANSPOSE8(b + (j0 + j8) * ldb + p0, ldb, dst + p0 * NR + j8, NR);
#endif
            for (int64_t j = 0; j < nr; j++) {
                const T *src = b + (j0 + j) * ldb;
                for (int64_t p = p0; p < kc; p++)
                    dst[p * NR + j] = src[p];
            }
            for (int64_t j = nr; j < NR; j++)
                for (int64_t p = 0; p < kc; p++)
                    dst[p * NR + j] = 0;
        }
        dst += NR * kc;
    }
}

/* C = act(beta * C + bias) when there is no product (k == 0 or alpha == 0). */
static void FM_NAME(scale_only)(const FM_NAME(problem) *pr)
{
    for (int64_t i = 0; i < pr->m; i++) {
        T *c = pr->c + i * pr->ldc;
        for (int64_t j = 0; j < pr->n; j++) {
            T r = pr->beta == (T)0 ? (T)0 : pr->beta * c[j];
            if (pr->bias != NULL)
                r = r + pr->bias[j];
            c[j] = r;
        }
    }
    if (fm_gemm_needs_rows(pr->act.kind))
        FM_CAT(fm_gemm_rows_stage_, SUF)(pr, 0, pr->m);
    else if (pr->act.kind != FM_ACT_IDENTITY)
        FM_CAT(fm_activation_forward_, SUF)(pr->act, pr->m, pr->n, pr->c, pr->ldc, pr->c,
                                            pr->ldc);
}

/* Activations applied after a tile is stored (everything but identity and
 * relu, which the micro-kernel does in registers, and the row stages,
 * fm_gemm_rows_stage_* in internal.h). */
static inline int FM_NAME(act_after_store)(fm_activation_kind kind)
{
    return kind != FM_ACT_IDENTITY && kind != FM_ACT_RELU && !fm_gemm_needs_rows(kind);
}

/* Split `total` into the fewest blocks of at most `max_block`, of equal size
 * rounded up to a multiple of `unit` (no thin last block that would cost a
 * full pass over C, or a near-empty one that wastes a packing). */
static inline int64_t FM_NAME(block_size)(int64_t total, int64_t max_block, int64_t unit)
{
    const int64_t blocks = (total + max_block - 1) / max_block;
    const int64_t size = (total + blocks - 1) / blocks;
    return (size + unit - 1) / unit * unit;
}

#if TR_PATH
/*
 * Few rows (TR_MIN_M <= m <= TR_MAX_M: a minibatch of 16..64 samples) by
 * wide C, B transposed (the input gradient delta @ W^T): transposed tiles.
 * Vectors run down the columns of C, as in the column path, so one tile
 * holds all of C's rows (up to 4 vectors) by TR_COLS columns, and op(B)'s
 * values are broadcast straight from W's rows, each read once per KC block
 * and never packed: the row tiles pack all of op(B) (4 MiB for a 1024 x 1024
 * W, transposed 8 x 8 at a time) for three 12-row tiles of 32 rows.
 * op(A)^T is packed per KC block (at most 64 x KC values). The tile goes
 * to row-major through L1 (TRANSPOSE8) and is stored by store_row: per
 * element the same FMA chain and output stage as the row tiles, so the
 * same bits, and the choice may depend on m.
 * (B not transposed, the forward x @ W, measured slower this way than the
 * row tiles: B's rows are 4 KiB apart and a tile's 48 bytes of each row
 * come from L2; see the commit history.)
 */
#define TR_MAX_M (4 * VW)
#define TR_VECS(m) (((m) + VW - 1) / VW)
/* Columns per tile for tv vectors of rows: tv * TR_COLS accumulators (at
 * most 24 of the 32 registers: with 28, GCC spilled two of them), tv
 * vectors of A and a broadcast. */
#define TR_COLS(tv) ((tv) == 1 ? 16 : (tv) == 2 ? 12 : (tv) == 3 ? 8 : 6)
/* Smallest op(B) (k * n values) for which not packing it pays (measured:
 * 32x64x64 was faster packed, 16x256x256 faster in place). */
#define TR_MIN_KN ((int64_t)1 << 16)

/*
 * C (rows <= tv * VW, tc columns) = alpha * op(A) @ op(B) + beta * C + bias,
 * relu. at: op(A)^T packed, kc steps of tv * VW values (rows past `rows`
 * zero); op(B)[p][j] = b[j * ldb + p] (W's rows).
 */
static FM_ALWAYS_INLINE void
FM_NAME(tr_tile)(const int tv, const int tc, int64_t kc, const T *restrict at,
                 const T *restrict b, int64_t ldb, T *restrict c, int64_t ldc, int rows, T alpha,
                 T beta, const T *restrict bias, int relu)
{
    /* Columns padded to whole vectors (and whole 8 x 8 blocks: VW >= 8). */
    enum { TCP = (TR_COLS(1) + VW - 1) / VW * VW };
    const int tcp = (tc + VW - 1) / VW * VW;
    VEC acc[TR_COLS(1)][4];
FM_UNROLL(16)
    for (int j = 0; j < tc; j++)
FM_UNROLL(4)
        for (int v = 0; v < tv; v++)
            acc[j][v] = VZERO();
    /* Row j = 3g + r of W at bg[g] + r * ldb: the tc addresses need a few
     * pointers and one index register (with tc row pointers GCC spilled
     * them to the stack inside the loop). */
    const T *bg[(TR_COLS(1) + 2) / 3];
FM_UNROLL(8)
    for (int g = 0; g < (tc + 2) / 3; g++)
        bg[g] = b + 3 * g * ldb;
    for (int64_t p = 0; p < kc; p++) {
        VEC av[4];
FM_UNROLL(4)
        for (int v = 0; v < tv; v++)
            av[v] = VLOAD(at + v * VW);
FM_UNROLL(16)
        for (int j = 0; j < tc; j++) {
            const VEC bj = VBCAST(bg[j / 3][(j % 3) * ldb]);
FM_UNROLL(4)
            for (int v = 0; v < tv; v++)
                acc[j][v] = VFMA(av[v], bj, acc[j][v]);
        }
        at += tv * VW;
FM_UNROLL(8)
        for (int g = 0; g < (tc + 2) / 3; g++)
            bg[g]++;
    }
    /* Per vector of rows: its tc columns to row-major through L1, then the
     * row tiles' output stage. */
    _Alignas(64) T colm[TCP * VW];
    _Alignas(64) T rowm[VW * TCP];
FM_UNROLL(4)
    for (int v = 0; v < tv; v++) {
        const int r0 = v * VW;
        if (r0 >= rows)
            break;
FM_UNROLL(16)
        for (int j = 0; j < tcp; j++)
            VSTORE(colm + j * VW, j < tc ? acc[j][v] : VZERO());
        for (int q0 = 0; q0 < VW; q0 += 8)
            for (int j0 = 0; j0 < tcp; j0 += 8)
                TRANSPOSE8(colm + j0 * VW + q0, VW, rowm + q0 * tcp + j0, tcp);
        const int nrow = rows - r0 < VW ? rows - r0 : VW;
        for (int q = 0; q < nrow; q++) {
            VEC r[TCP / VW];
FM_UNROLL(4)
            for (int u = 0; u < tcp / VW; u++)
                r[u] = VLOAD(rowm + q * tcp + u * VW);
            FM_NAME(store_row)(tcp / VW, r, c + (r0 + q) * ldc, tc, alpha, beta, bias, relu, 0,
                               (T)0);
        }
    }
}

/* tr_tile with tv (and so tc) constant in each branch. */
static FM_NOINLINE void
FM_NAME(tr_kernel)(int tv, int64_t kc, const T *restrict at, const T *restrict b, int64_t ldb,
                   T *restrict c, int64_t ldc, int rows, T alpha, T beta,
                   const T *restrict bias, int relu)
{
#define FM_TR_CASE(v)                                                                       \
    case v:                                                                                 \
        FM_NAME(tr_tile)(v, TR_COLS(v), kc, at, b, ldb, c, ldc, rows, alpha, beta, bias,    \
                         relu);                                                             \
        break;
    switch (tv) {
        FM_TR_CASE(1) FM_TR_CASE(2) FM_TR_CASE(3) FM_TR_CASE(4)
    default:
        break;
    }
#undef FM_TR_CASE
}

/* op(A)^T's block of kc steps from `a` (m <= mp rows): dst[p * mp + i] =
 * op(A)[i][p], rows m..mp zero. */
static void FM_NAME(pack_at)(int64_t m, int64_t mp, int64_t kc, const T *restrict a,
                             int64_t lda, int trans, T *restrict dst)
{
    if (trans) {
        for (int64_t p = 0; p < kc; p++)
            for (int64_t i = 0; i < mp; i++)
                dst[p * mp + i] = i < m ? a[p * lda + i] : 0;
        return;
    }
    /* Whole 8 x 8 blocks in registers, the edges one value at a time. */
    const int64_t p8 = kc / 8 * 8;
    int64_t i8 = 0;
    for (; i8 + 8 <= m; i8 += 8)
        for (int64_t p = 0; p < p8; p += 8)
            TRANSPOSE8(a + i8 * lda + p, lda, dst + p * mp + i8, mp);
    for (int64_t p = 0; p < kc; p++)
        for (int64_t i = p < p8 ? i8 : 0; i < mp; i++)
            dst[p * mp + i] = i < m ? a[i * lda + p] : 0;
}

/* The columns of C that `pr` computes by transposed tiles (whole tiles; the
 * rest go through the other paths), 0 if it does not take them. */
static inline int64_t FM_NAME(tr_columns)(const FM_NAME(problem) *pr)
{
    if (!pr->trans_b || pr->m < TR_MIN_M || pr->m > TR_MAX_M || pr->k * pr->n < TR_MIN_KN)
        return 0;
    const int64_t tc = TR_COLS(TR_VECS(pr->m));
    return pr->n / tc * tc;
}

/* Elements of the packed op(A)^T block. */
static inline int64_t FM_NAME(tr_elems)(int64_t m, int64_t kc_size)
{
    return (int64_t)TR_VECS(m) * VW * kc_size;
}

/* Columns 0..n_tr of C (n_tr from tr_columns) by transposed tiles, packing
 * op(A)^T into `at`; the row stages are left to the caller. */
static void FM_NAME(gemm_tr)(const FM_NAME(problem) *pr, int64_t n_tr, int64_t kc_size,
                             T *restrict at)
{
    const int64_t m = pr->m, k = pr->k;
    const int tv = TR_VECS(m), tc = TR_COLS(tv);
    const int relu = pr->act.kind == FM_ACT_RELU;
    for (int64_t pc = 0; pc < k; pc += kc_size) {
        const int64_t kc = FM_NAME(min)(kc_size, k - pc);
        const int last = pc + kc == k;
        const T beta_eff = pc == 0 ? pr->beta : (T)1;
        FM_NAME(pack_at)(m, (int64_t)tv * VW, kc,
                         pr->trans_a ? pr->a + pc * pr->lda : pr->a + pc, pr->lda,
                         pr->trans_a, at);
        for (int64_t j0 = 0; j0 < n_tr; j0 += tc) {
            T *ct = pr->c + j0;
            FM_NAME(tr_kernel)(tv, kc, at, pr->b + j0 * pr->ldb + pc, pr->ldb, ct, pr->ldc,
                               (int)m, pr->alpha, beta_eff,
                               last && pr->bias != NULL ? pr->bias + j0 : NULL, last && relu);
            if (last && FM_NAME(act_after_store)(pr->act.kind))
                FM_CAT(fm_activation_forward_, SUF)(pr->act, m, tc, ct, pr->ldc, ct, pr->ldc);
        }
    }
}
#endif

/* A is packed when transposed, and for wide products (n >= PACK_A_MIN_N,
 * m > SMALL_M), where each packed strip serves n / NR micro-kernel calls:
 * in place, the MR rows a micro-kernel broadcasts from are lda apart, and
 * for lda a multiple of 1 KiB (1024, 2048 columns) they fall in few L1 sets
 * and evict each other (measured on Sapphire Rapids: 2048^3 at 116 GFLOP/s
 * in place). Narrower products keep reading A in place (the top of the
 * file). */
#define PACK_A_MIN_N 512
static inline int FM_NAME(packs_a)(int trans_a, int64_t m, int64_t n)
{
    if (A_T_IN_PLACE && trans_a)
        return 0; /* read in place by steps of lda (gemm) */
    return trans_a || (n >= PACK_A_MIN_N && m > SMALL_M);
}

/* Packing buffer (A block, B block) in elements that `pr` needs; the
 * driver's own sizing, for callers that provide the buffer (pr->scratch). */
static void FM_NAME(pack_sizes)(const FM_NAME(problem) *pr, int64_t *a_elems, int64_t *b_elems)
{
    const int64_t m = pr->m, n = pr->n, k = pr->k;
    *a_elems = *b_elems = 0;
    if (m <= 0 || n <= 0 || k <= 0 || pr->alpha == (T)0)
        return;
    const int64_t kc_size = FM_NAME(block_size)(k, KC, 1);
#if VW > 1
    if (FM_NAME(takes_dot)(pr)) {
        *b_elems = FM_NAME(dot_packs_b)(pr) ? n * k : 0;
        return;
    }
    if (n < VW && m >= COL_MIN_M) {
        *a_elems = FM_NAME(col_a_elems)(pr->trans_a, n, kc_size);
        *b_elems = n * kc_size;
        return;
    }
#endif
#if TR_PATH
    const int64_t n_tr = FM_NAME(tr_columns)(pr);
    if (n_tr > 0) {
        /* The packed op(A)^T, then the same buffer for the other columns. */
        int64_t rest_a = 0, rest_b = 0;
        if (n_tr < n) {
            FM_NAME(problem) rest = *pr;
            rest.n_whole = pr->n_whole > 0 ? pr->n_whole : n;
            rest.n = n - n_tr;
            FM_NAME(pack_sizes)(&rest, &rest_a, &rest_b);
        }
        const int64_t own = FM_NAME(tr_elems)(m, kc_size);
        *a_elems = own > rest_a + rest_b ? own : rest_a + rest_b;
        return;
    }
#endif
    int64_t mm = m, nn = n;
    if (m == 1 && !pr->trans_b && n >= NR) {
        if (n % NR == 0)
            return; /* all by gemv, which packs nothing */
        nn = n % NR; /* the rest, by the blocked path below */
    }
    const int pack_a = FM_NAME(packs_a)(pr->trans_a, m, n);
    const int pack_all_b = pr->trans_b || mm > SMALL_M || nn <= NR;
    /* (the driver's strip_b: one block of rows packs B a strip at a time) */
    const int whole_b = pack_all_b && mm > FM_NAME(block_size)(mm, MC, MR);
    /* Whole vectors of 64 bytes each, so that B stays aligned after A. */
    const int64_t round = 64 / (int64_t)sizeof(T);
    if (pack_a)
        *a_elems = (FM_NAME(block_size)(mm, MC, MR) * kc_size + round - 1) / round * round;
    *b_elems = (whole_b ? FM_NAME(block_size)(nn, NC, NR) : NR) * kc_size;
}

static int FM_NAME(blocked_path)(const FM_NAME(problem) *pr);

/* gemm_step's buffer of sums (a step the blocked path cannot take in
 * registers), whole 64-byte lines; 0 for any other problem. */
static int64_t FM_NAME(step_sums_elems)(const FM_NAME(problem) *pr)
{
    const int64_t round = 64 / (int64_t)sizeof(T);
    if (!pr->step.on || pr->m <= 0 || pr->n <= 0 ||
        (pr->k <= KC && (pr->sparse_a.ptr != NULL || FM_NAME(blocked_path)(pr))))
        return 0;
    return (pr->m * pr->n + round - 1) / round * round;
}

static int64_t FM_NAME(sparse_elems)(int64_t m, int64_t n, int64_t k);

/* The buffer `pr` needs: the packing, and after it gemm_step's sums. */
static int64_t FM_NAME(scratch_elems)(const FM_NAME(problem) *pr)
{
    int64_t a_elems, b_elems;
    FM_NAME(pack_sizes)(pr, &a_elems, &b_elems);
    if (pr->sparse_a.ptr != NULL) /* packs nothing; its cursors */
        a_elems = FM_NAME(sparse_elems)(pr->m, pr->n, pr->k), b_elems = 0;
    return a_elems + b_elems + FM_NAME(step_sums_elems)(pr);
}

/* Columns n_done..n of `pr` (those after gemv's strips or the transposed
 * tiles) by whichever path suits them, packing into `scratch`: a column
 * part of the product, so it keeps the whole product's n (takes_dot). Row
 * stages (softmax, maxout) are left to the caller, which has all columns. */
static fm_status FM_NAME(gemm)(const FM_NAME(problem) *pr);
static fm_status FM_NAME(gemm_rest)(const FM_NAME(problem) *pr, int64_t n_done, T *scratch,
                                    int64_t scratch_elems)
{
    if (n_done >= pr->n)
        return FM_OK;
    FM_NAME(problem) rest = *pr;
    rest.n_whole = pr->n_whole > 0 ? pr->n_whole : pr->n;
    rest.n = pr->n - n_done;
    rest.b = pr->trans_b ? pr->b + n_done * pr->ldb : pr->b + n_done;
    rest.c = pr->c + n_done;
    if (rest.step.velocity != NULL)
        rest.step.velocity += n_done;
    rest.bias = pr->bias != NULL ? pr->bias + n_done : NULL;
    rest.scratch = scratch;
    rest.scratch_elems = scratch_elems;
    if (fm_gemm_needs_rows(pr->act.kind))
        rest.act.kind = FM_ACT_IDENTITY;
    return FM_NAME(gemm)(&rest);
}

/*
 * A sparse op(A) (pr->sparse_a), B not transposed. Per element of C these
 * are the blocked path's operations without op(A)'s zero terms: the same KC
 * blocks (block_size), one FMA chain per block from zero in ascending k,
 * the same output stage (store_row; step_tile for a step in the product)
 * after each block. A zero term adds +-0, which leaves a sum that is not -0
 * as it is (a chain from +0 is -0 only after an underflow), so the values
 * are the dense path's wherever B is finite (the dense path makes 0 * inf a
 * NaN; these never form it). The dot path (n <= DOT_MAX_N) sums in another
 * order: the same values only up to rounding there. Cost: nnz x n instead
 * of m x k x n, B read in place (not packed).
 *
 * Per KC block, per strip of C's columns, each row of C: the row's values
 * in the block each add their value times B's row strip to the strip's sums
 * in registers. Strips of SP_NARROW vectors (128 bytes) keep the block's
 * rows of B in L1 while all rows of C pass over them; where a block of B
 * fits in L1 anyway (a weight gradient's deltas at small batches), strips
 * of SP_VECS. Measured on Zen 4, float32 at 18% nonzero, one thread, us
 * (dense 141 and 161): x @ W 32 x 300 x 784 69 (rows outer, strips of
 * SP_VECS: 73; by columns of op(A), the sums of 32 rows in L1 and each row
 * of B read once: 101; four rows in lockstep against the FMA's latency,
 * or prefetching the next values' rows of B: no gain); x^T @ delta
 * 784 x 300 x 32 74.
 */
#define SP_VECS 8
#ifndef SP_WIDE_B
#define SP_WIDE_B (48 * 1024)
#endif
#define SP_NARROW_ (128 / (VW * (int)sizeof(T)))
#define SP_NARROW (SP_NARROW_ < 1 ? 1 : SP_NARROW_ > SP_VECS ? SP_VECS : SP_NARROW_)
/* Vectors of a packed strip (sparse_pack; at most SP_VECS), where the set
 * defines it; 0: B's narrow strips read in place. */
#ifndef SP_PACKED
#define SP_PACKED 0
#endif
/* B's block is packed when each of its rows serves at least this many
 * stored values on average (one row packed costs about one value's FMAs;
 * 32 x 300 x 784 MNIST rows, 5.8 values a row: 89 -> 102-110 us packed). */
#define SP_PACK_USES 16
#define SP_STEP_ROWS 16

/* A strip of `nvec` vectors (the last with `lanes` values where `part`)
 * over the stored values [q0, q1) of a row: out = sum of val * B's row. */
static FM_ALWAYS_INLINE void FM_NAME(sparse_strip_)(const int nvec, const int part, int lanes,
                                                   int64_t q0, int64_t q1, int32_t k0,
                                                   const int32_t *restrict idx,
                                                   const T *restrict val, const T *restrict b,
                                                   int64_t ldb, VEC *restrict out)
{
    VEC acc[SP_VECS];
FM_UNROLL(8)
    for (int v = 0; v < nvec; v++)
        acc[v] = VZERO();
    for (int64_t q = q0; q < q1; q++) {
        const VEC x = VBCAST(val[q]);
        const T *restrict br = b + (int64_t)(idx[q] - k0) * ldb;
FM_UNROLL(8)
        for (int v = 0; v < nvec; v++) {
            /* (the last row of B has nothing after its last column) */
            const VEC bv = part && v == nvec - 1 ? VLOAD_PART(br + v * VW, lanes)
                                                 : VLOAD(br + v * VW);
            acc[v] = VFMA(x, bv, acc[v]);
        }
    }
FM_UNROLL(8)
    for (int v = 0; v < nvec; v++)
        out[v] = acc[v];
}

/* sparse_strip_ with nvec and part compile-time constants in each case. */
static FM_NOINLINE void FM_NAME(sparse_strip)(int nvec, int part, int lanes, int64_t q0,
                                              int64_t q1, int32_t k0, const int32_t *restrict idx,
                                              const T *restrict val, const T *restrict b,
                                              int64_t ldb, VEC *restrict out)
{
#define FM_SP_CASE(nv)                                                                       \
    case 2 * (nv):                                                                           \
        FM_NAME(sparse_strip_)(nv, 0, lanes, q0, q1, k0, idx, val, b, ldb, out);             \
        return;                                                                              \
    case 2 * (nv) + 1:                                                                       \
        FM_NAME(sparse_strip_)(nv, VW > 1, lanes, q0, q1, k0, idx, val, b, ldb, out);        \
        return;
    switch (2 * nvec + (part != 0)) {
        FM_SP_CASE(1) FM_SP_CASE(2) FM_SP_CASE(3) FM_SP_CASE(4)
        FM_SP_CASE(5) FM_SP_CASE(6) FM_SP_CASE(7) FM_SP_CASE(8)
    default:
        break;
    }
#undef FM_SP_CASE
}

/* One row's sums over its values [q0, q1) for a strip of `cols` columns
 * (at most SP_VECS vectors) of B at b: sparse_strip, or zeros. */
static inline void FM_NAME(sparse_sums)(int cols, int32_t q0, int32_t q1, int32_t k0,
                                        const int32_t *restrict idx, const T *restrict val,
                                        const T *restrict b, int64_t ldb, VEC *restrict acc)
{
    const int nvec = (cols + VW - 1) / VW, lanes = cols - (nvec - 1) * VW;
    if (q1 > q0)
        FM_NAME(sparse_strip)(nvec, lanes < VW, lanes, q0, q1, k0, idx, val, b, ldb, acc);
    else /* (a weight gradient's feature zero in every row) */
        for (int v = 0; v < nvec; v++)
            acc[v] = VZERO();
}

/* A row of the step's sums (gemm_sparse): n in whole 64-byte lines. */
static inline int64_t FM_NAME(sparse_row_elems)(int64_t n)
{
    const int64_t round = 64 / (int64_t)sizeof(T);
    return (n + round - 1) / round * round;
}

/* The sparse path's buffer, in whole 64-byte lines: two cursors (int32)
 * per row of op(A), SP_STEP_ROWS rows of C's sums (a step's), and one KC
 * block of a strip of B, packed (sparse_pack). Offsets in elements into
 * at[0..2]; returns the total. */
static int64_t FM_NAME(sparse_layout)(int64_t m, int64_t n, int64_t k, int64_t at[3])
{
    const int64_t round = 64 / (int64_t)sizeof(T);
    const int64_t cursors = (2 * m * (int64_t)sizeof(int32_t) + sizeof(T) - 1) / sizeof(T);
    const int64_t kc_size = FM_NAME(block_size)(k, KC, 1);
    at[0] = 0;
    at[1] = (cursors + round - 1) / round * round;
    at[2] = at[1] + SP_STEP_ROWS * FM_NAME(sparse_row_elems)(n);
    return at[2] + (kc_size * SP_PACKED * VW + round - 1) / round * round;
}

static int64_t FM_NAME(sparse_elems)(int64_t m, int64_t n, int64_t k)
{
    int64_t at[3];
    return FM_NAME(sparse_layout)(m, n, k, at);
}

/* Rows [pc, pc + kc) of a strip of `cols` columns of B (b at its row pc)
 * into dst, rows SP_PACKED vectors apart (lanes past cols not written). */
static void FM_NAME(sparse_pack)(int64_t kc, int cols, const T *restrict b, int64_t ldb,
                                 T *restrict dst)
{
    const int nvec = (cols + VW - 1) / VW, lanes = cols - (nvec - 1) * VW;
    (void)lanes; /* (scalar sets: whole values) */
    for (int64_t p = 0; p < kc; p++) {
        const T *restrict src = b + p * ldb;
        T *restrict out = dst + p * (SP_PACKED * VW);
        for (int v = 0; v < nvec - 1; v++)
            VSTORE(out + v * VW, VLOAD(src + v * VW));
        VSTORE_PART(out + (nvec - 1) * VW, VLOAD_PART(src + (nvec - 1) * VW, lanes), lanes);
    }
}

static fm_status FM_NAME(gemm_sparse)(const FM_NAME(problem) *pr)
{
    const int64_t m = pr->m, n = pr->n, k = pr->k, ldb = pr->ldb, ldc = pr->ldc;
    const int32_t *ptr = pr->sparse_a.ptr, *idx = pr->sparse_a.idx;
    const int32_t *row_end = pr->sparse_a.end != NULL ? pr->sparse_a.end : ptr + 1;
    const T *val = pr->sparse_a.val;
    const int64_t kc_size = FM_NAME(block_size)(k, KC, 1);
    const fm_activation act = pr->act;
    const int relu = act.kind == FM_ACT_RELU;
    /* The blocked path's step and output stage (gemm below says why). */
    const FM_NAME(step_rule) *step = pr->step.on ? &pr->step : NULL;
    const int post_on = step != NULL && step->form == 2 && step->recip &&
                        step->penalty == FM_FINISH_NONE && !step->clip_on && !step->decay;
    const T alpha = post_on ? step->inv : pr->alpha, post = post_on ? step->neg_lr : (T)0;
    if (post_on)
        step = NULL;
    /* Strips: SP_VECS vectors where a KC block of B is small enough to stay
     * in L1 (a weight gradient's deltas at small batches); else SP_NARROW
     * vectors (128 bytes), whose KC rows of B stay in L1 while every row of
     * C passes over them (x @ W: B's rows would otherwise come from L2 once
     * per stored value). */
    const int wide = kc_size * n * (int64_t)sizeof(T) <= SP_WIDE_B;
    const int strip = wide ? SP_VECS : SP_NARROW;
    int64_t at[3];
    const int64_t need = FM_NAME(sparse_layout)(m, n, k, at);
    T *own = NULL, *buf = pr->scratch;
    if (buf == NULL || pr->scratch_elems < need) {
        own = buf = fm_malloc((size_t)need * sizeof(T));
        if (own == NULL)
            return FM_ERR_NOMEM;
    }
    /* Per row: its first value in this KC block, and its first past it. */
    int32_t *cur = (int32_t *)(buf + at[0]), *end = cur + m;
    VEC *row = (VEC *)(buf + at[1]);
    T *packed = buf + at[2];
    /* Fewer values than KC blocks in all (a bag of words' x @ W: 20000
     * columns at 0.2%, 40 values a row over 79 blocks): row by row over
     * all blocks, so that a row of C stays in L1 across its blocks instead
     * of every block passing over all of C (predict_proba of 20000 such
     * rows, 256 units, Zen 4: 143-257 -> 96-122 ms; the CSR loops took
     * 87-130). The same operations per value. */
    int64_t stored = 0;
    for (int64_t i = 0; i < m; i++)
        stored += row_end[i] - ptr[i];
    const int64_t blocks = (k + kc_size - 1) / kc_size;
    const int rows_outer = blocks > 1 && step == NULL && !post_on && stored < m * blocks;
    for (int64_t i = 0; rows_outer && i < m; i++) {
        T *ci = pr->c + i * ldc;
        int32_t q = ptr[i];
        for (int64_t pc = 0; pc < k; pc += kc_size) {
            const int64_t kc = FM_NAME(min)(kc_size, k - pc);
            const int last = pc + kc == k;
            int32_t q1 = q;
            while (q1 < row_end[i] && idx[q1] < pc + kc)
                q1++;
            if (pc > 0 && !last && q1 == q)
                continue; /* +0 added to C (see skip_empty below) */
            const T beta = pc == 0 ? pr->beta : (T)1;
            /* (the widest strips: a row of B serves one value here) */
            for (int64_t j = 0; j < n; j += SP_VECS * VW) {
                const int cols = (int)FM_NAME(min)(SP_VECS * VW, n - j);
                VEC acc[SP_VECS];
                FM_NAME(sparse_sums)(cols, q, q1, 0, idx, val, pr->b + j, ldb, acc);
                FM_NAME(store_row)((cols + VW - 1) / VW, acc, ci + j, cols, alpha, beta,
                                   last && pr->bias != NULL ? pr->bias + j : NULL, last && relu,
                                   0, (T)0);
            }
            q = q1;
        }
    }
    for (int64_t i = 0; i < m; i++)
        cur[i] = ptr[i];
    for (int64_t pc = 0; !rows_outer && pc < k; pc += kc_size) {
        const int64_t kc = FM_NAME(min)(kc_size, k - pc);
        const int last = pc + kc == k;
        const T beta = pc == 0 ? pr->beta : (T)1;
        for (int64_t i = 0; i < m; i++) {
            int32_t q = cur[i];
            while (q < row_end[i] && idx[q] < pc + kc)
                q++;
            end[i] = q;
        }
        /* A step (W and its velocity read and written): whole rows of
         * sums, then their output stage, so that C and the velocity stream
         * row after row rather than in strips that cut their lines (784 x
         * 300 x 32 with momentum on Zen 4: 121 -> 95 us; with narrow
         * strips, 20000 x 256 x 200 at 0.2% nonzero, a bag of words:
         * 12.2-13.2 -> 2.5-2.7 ms, 2000 x 256 x 200 at 2%: 389-390 ->
         * 251-346 us, 784 x 300 x 200 unchanged); otherwise strips outer,
         * which keep B's strip in L1 (a plain gradient 73 against 87 us by
         * rows; Keras's SGD, store_row's post, 77 against 82). With narrow
         * strips (B's block past L1), SP_STEP_ROWS rows of sums at a time,
         * strips outer within them: a strip of B, read from L2, serves all
         * of them from L1 (avx2 on Zen 3, x^T @ delta 784 x 300 x 200 of
         * MNIST rows, best of 5: 639 -> 589 us, with momentum 694 -> 584;
         * fastmlp.keras at batch 200, the products of an epoch: SGD 119 ->
         * 99 ms, Adam 115 -> 107). */
        const int by_rows = step != NULL;
        const int skip_empty = pc > 0 && !last && step == NULL && !post_on;
        const int64_t row_vecs = FM_NAME(sparse_row_elems)(n) / VW;
        const int64_t step_rows = strip == SP_NARROW ? SP_STEP_ROWS : 1;
        for (int64_t i0 = 0; by_rows && i0 < m; i0 += step_rows) {
            const int64_t i1 = FM_NAME(min)(i0 + step_rows, m);
            for (int64_t j = 0; j < n; j += strip * VW)
                for (int64_t i = i0; i < i1; i++)
                    FM_NAME(sparse_sums)((int)FM_NAME(min)(strip * VW, n - j), cur[i], end[i], 0,
                                         idx, val, pr->b + j, ldb,
                                         row + (i - i0) * row_vecs + j / VW);
            for (int64_t i = i0; i < i1; i++)
                FM_NAME(step_tile)(1, (int)((n + VW - 1) / VW), row + (i - i0) * row_vecs,
                                   pr->c + i * ldc,
                                   step->form != 2 ? step->velocity + i * ldc : NULL, ldc,
                                   (int)n, step);
        }
        /* Narrow strips where the set packs them (SP_PACKED) and B's rows
         * serve enough values (SP_PACK_USES): the strip's block of B
         * packed first, its rows one after another from a 64-byte line,
         * where B's own rows (1200 bytes apart for 300 floats) spread a
         * strip over one line more each; wider strips, fewer values'
         * loads and passes over C per FMA (avx2, 200 x 300 x 784 MNIST
         * rows, best of 5: 578-590 -> 531-542 us; x^T @ delta 784 x 300 x
         * 200: 577-609 -> 540-555). */
        const int pack = SP_PACKED > 0 && strip == SP_NARROW && stored >= SP_PACK_USES * k;
        const int width = pack ? SP_PACKED : strip;
        for (int64_t j = 0; !by_rows && j < n; j += width * VW) {
            const int cols = (int)FM_NAME(min)(width * VW, n - j), nvec = (cols + VW - 1) / VW;
            const T *bias = last && pr->bias != NULL ? pr->bias + j : NULL;
            const T *bs = pr->b + j;
            int64_t lds = ldb;
            int32_t k0 = 0;
            if (pack) {
                FM_NAME(sparse_pack)(kc, cols, pr->b + pc * ldb + j, ldb, packed);
                bs = packed, lds = SP_PACKED * VW, k0 = (int32_t)pc;
            }
            for (int64_t i = 0; i < m; i++) {
                /* A row without values in a middle block adds +0 to C,
                 * which C never is as -0 (sums from +0): nothing to do
                 * (a bag of words, 20000 columns: 79 blocks of C's rows). */
                if (skip_empty && cur[i] == end[i])
                    continue;
                VEC acc[SP_VECS];
                FM_NAME(sparse_sums)(cols, cur[i], end[i], k0, idx, val, bs, lds, acc);
                FM_NAME(store_row)(nvec, acc, pr->c + i * ldc + j, cols, alpha, beta, bias,
                                   last && relu, post_on, post);
            }
        }
        for (int64_t i = 0; i < m; i++)
            cur[i] = end[i];
    }
    fm_free(own);
    if (fm_gemm_needs_rows(act.kind))
        FM_CAT(fm_gemm_rows_stage_, SUF)(pr, 0, m);
    else if (FM_NAME(act_after_store)(act.kind))
        FM_CAT(fm_activation_forward_, SUF)(act, m, n, pr->c, ldc, pr->c, ldc);
    return FM_OK;
}

/* Whether gemm() computes `pr` by its blocked path (the last below), each
 * tile of C finished in registers in one pass when k <= KC. */
static int FM_NAME(blocked_path)(const FM_NAME(problem) *pr)
{
#if VW > 1
    if (FM_NAME(takes_dot)(pr) || (pr->n < VW && pr->m >= COL_MIN_M))
        return 0;
#endif
#if TR_PATH
    if (FM_NAME(tr_columns)(pr) > 0)
        return 0;
#endif
    return !(pr->m == 1 && !pr->trans_b && pr->n >= NR);
}

/*
 * The step in the product (internal.h, fm_gemm_step) where the blocked path
 * cannot take it in registers (another path, or k > KC: partial sums would
 * go through C): the sums into a buffer, then step_value, the output
 * stage's operations, value by value.
 */
static fm_status FM_NAME(gemm_step)(const FM_NAME(problem) *pr)
{
    FM_NAME(problem) plain = *pr;
    /* The sums at the end of the caller's buffer when it holds them (the
     * training engine's workspace: no allocation per minibatch), the
     * packing before them; else one allocation for this call. */
    const int64_t sums_elems = FM_NAME(step_sums_elems)(pr);
    T *own = NULL, *sums;
    if (pr->scratch != NULL && pr->scratch_elems >= FM_NAME(scratch_elems)(pr)) {
        plain.scratch_elems = pr->scratch_elems - sums_elems;
        sums = pr->scratch + plain.scratch_elems;
    } else {
        own = sums = fm_malloc((size_t)(pr->m * pr->n) * sizeof(T));
        if (sums == NULL)
            return FM_ERR_NOMEM;
    }
    plain.beta = (T)0;
    plain.c = sums;
    plain.ldc = pr->n;
    plain.step.on = 0;
    const fm_status st = FM_NAME(gemm)(&plain);
    const FM_NAME(step_rule) *rule = &pr->step;
    if (st == FM_OK)
        for (int64_t i = 0; i < pr->m; i++)
            for (int64_t j = 0; j < pr->n; j++) {
                T *w = pr->c + i * pr->ldc + j;
                T *v = rule->form != 2 ? rule->velocity + i * pr->ldc + j : NULL;
                T unused = (T)0;
                *w = FM_NAME(step_value)(rule, sums[i * pr->n + j], *w, v != NULL ? v : &unused);
            }
    fm_free(own);
    return st;
}

static fm_status FM_NAME(gemm)(const FM_NAME(problem) *pr)
{
    const int64_t m = pr->m, n = pr->n, k = pr->k;
    const int64_t lda = pr->lda, ldb = pr->ldb, ldc = pr->ldc;
    const T alpha = pr->alpha, beta = pr->beta;
    const fm_activation act = pr->act;
    const int relu = act.kind == FM_ACT_RELU;
    const int trans_a = pr->trans_a, trans_b = pr->trans_b;
    const T *const a = pr->a;
    const T *const b = pr->b;
    T *const c = pr->c;

    if (m <= 0 || n <= 0)
        return FM_OK;
    if (pr->step.on) {
        if (alpha != (T)1 || beta != (T)1 || pr->bias != NULL || act.kind != FM_ACT_IDENTITY ||
            k <= 0 || (pr->step.form != 2 && pr->step.velocity == NULL))
            return FM_ERR_ARGUMENT;
        if (k > KC || (pr->sparse_a.ptr == NULL && !FM_NAME(blocked_path)(pr)))
            return FM_NAME(gemm_step)(pr);
    }
    if (k <= 0 || alpha == (T)0) {
        FM_NAME(scale_only)(pr);
        return FM_OK;
    }
    if (pr->sparse_a.ptr != NULL)
        return FM_NAME(gemm_sparse)(pr);
    const int64_t kc_size = FM_NAME(block_size)(k, KC, 1);

#if VW > 1
    if (FM_NAME(takes_dot)(pr)) {
        int64_t a_elems, b_elems;
        FM_NAME(pack_sizes)(pr, &a_elems, &b_elems);
        T *own = NULL, *buf = pr->scratch;
        if (b_elems > 0 && (buf == NULL || pr->scratch_elems < b_elems)) {
            own = fm_malloc((size_t)b_elems * sizeof(T));
            if (own == NULL)
                return FM_ERR_NOMEM;
            buf = own;
        }
        FM_NAME(gemm_dot)(pr, buf);
        fm_free(own);
        if (fm_gemm_needs_rows(act.kind)) /* softmax; maxout into act_out */
            FM_CAT(fm_gemm_rows_stage_, SUF)(pr, 0, m);
        else if (FM_NAME(act_after_store)(act.kind))
            FM_CAT(fm_activation_forward_, SUF)(act, m, n, c, ldc, c, ldc);
        return FM_OK;
    }
#endif

    if (m == 1 && !trans_b && n >= NR) {
        /* A matrix-vector product: whole NR strips by gemv, the rest below. */
        const int64_t n_main = n / NR * NR;
        FM_NAME(gemv)(n_main, k, kc_size, a, trans_a ? lda : 1, b, ldb, c, alpha, beta,
                      pr->bias, relu);
        if (FM_NAME(act_after_store)(act.kind))
            FM_CAT(fm_activation_forward_, SUF)(act, 1, n_main, c, ldc, c, ldc);
        const fm_status st = FM_NAME(gemm_rest)(pr, n_main, pr->scratch, pr->scratch_elems);
        if (st == FM_OK && fm_gemm_needs_rows(act.kind))
            FM_CAT(fm_gemm_rows_stage_, SUF)(pr, 0, 1);
        return st;
    }

#if VW > 1
    if (n < VW && m >= COL_MIN_M) {
        int64_t a_elems, b_elems;
        FM_NAME(pack_sizes)(pr, &a_elems, &b_elems);
        T *own = NULL, *buf = pr->scratch;
        if (buf == NULL || pr->scratch_elems < a_elems + b_elems) {
            own = fm_malloc((size_t)(a_elems + b_elems) * sizeof(T));
            if (own == NULL)
                return FM_ERR_NOMEM;
            buf = own;
        }
        FM_NAME(gemm_cols)(pr, kc_size, buf);
        fm_free(own);
        if (fm_gemm_needs_rows(act.kind)) /* softmax; maxout into act_out */
            FM_CAT(fm_gemm_rows_stage_, SUF)(pr, 0, m);
        else if (act.kind != FM_ACT_IDENTITY && act.kind != FM_ACT_RELU)
            FM_CAT(fm_activation_forward_, SUF)(act, m, n, c, ldc, c, ldc);
        return FM_OK;
    }
#endif

#if TR_PATH
    const int64_t n_tr = FM_NAME(tr_columns)(pr);
    if (n_tr > 0) {
        int64_t a_elems, b_elems;
        FM_NAME(pack_sizes)(pr, &a_elems, &b_elems);
        T *own = NULL, *buf = pr->scratch;
        int64_t buf_elems = pr->scratch_elems;
        if (buf == NULL || buf_elems < a_elems) {
            own = fm_malloc((size_t)a_elems * sizeof(T));
            if (own == NULL)
                return FM_ERR_NOMEM;
            buf = own;
            buf_elems = a_elems;
        }
        FM_NAME(gemm_tr)(pr, n_tr, kc_size, buf);
        const fm_status st = FM_NAME(gemm_rest)(pr, n_tr, buf, buf_elems);
        fm_free(own);
        if (st == FM_OK && fm_gemm_needs_rows(act.kind))
            FM_CAT(fm_gemm_rows_stage_, SUF)(pr, 0, m);
        return st;
    }
#endif

    /* A is packed only when transposed (see the top of the file); B is
     * packed unless few rows of A would not repay it. */
    const int pack_a = FM_NAME(packs_a)(trans_a, m, n);
    /* A transposed (a weight gradient a^T @ delta): a step's MR values are
     * already contiguous in A's row p, so where A_T_IN_PLACE the
     * micro-kernel reads them there, lda apart, as it reads a packed strip
     * MR apart, and A is not packed (see the kernel set's file). */
    const int a_rows = A_T_IN_PLACE && trans_a;
    const int a_steps = pack_a || a_rows; /* a step's values contiguous */
    const int pack_all_b = trans_b || m > SMALL_M || n <= NR;
    const int64_t mc_size = FM_NAME(block_size)(m, MC, MR);
    const int64_t nc_size = FM_NAME(block_size)(n, NC, NR);
    /* With one MC block of rows, each packed value of B serves one pass
     * over the rows whether the block is packed whole or a strip at a time;
     * a strip (kc x NR) packed just before its row tiles stays in L1 for
     * them, while a whole block (kc x nc: 1 MiB for 256 x 1024) leaves L2
     * and is read back from L3 (avx2 on Zen 3, best of alternating runs:
     * 32 x 784 x 256 196 -> 178 us, 32 x 1024 x 1024 1178 -> 1119). */
    const int strip_b = pack_all_b && m <= mc_size;
    /* The caller's buffer when it is big enough (the training engine's
     * workspace), otherwise one allocation for this call. */
    int64_t a_elems, b_elems;
    FM_NAME(pack_sizes)(pr, &a_elems, &b_elems);
    T *own = NULL, *abuf, *bbuf;
    if (pr->scratch != NULL && pr->scratch_elems >= a_elems + b_elems) {
        abuf = pr->scratch;
    } else {
        own = fm_malloc((size_t)(a_elems + b_elems) * sizeof(T));
        if (own == NULL)
            return FM_ERR_NOMEM;
        abuf = own;
    }
    bbuf = abuf + a_elems;
    /* A step (k <= KC: one block, the last): Keras's SGD without momentum
     * at a divisor with an exact reciprocal is store_row's post (alpha inv,
     * post neg_lr); other rules take step_tile. */
    const FM_NAME(step_rule) *step = pr->step.on ? &pr->step : NULL;
    const int post_on = step != NULL && step->form == 2 && step->recip &&
                        step->penalty == FM_FINISH_NONE && !step->clip_on && !step->decay;
    const T alpha_eff = post_on ? step->inv : alpha, post = post_on ? step->neg_lr : (T)0;
    if (post_on)
        step = NULL;

    for (int64_t jc = 0; jc < n; jc += nc_size) {
        const int64_t nc = FM_NAME(min)(nc_size, n - jc);
        for (int64_t pc = 0; pc < k; pc += kc_size) {
            const int64_t kc = FM_NAME(min)(kc_size, k - pc);
            const int last = pc + kc == k;
            const T beta_eff = pc == 0 ? beta : (T)1;
            const T *bblock = trans_b ? b + jc * ldb + pc : b + pc * ldb + jc;
            if (pack_all_b && !strip_b)
                FM_NAME(pack_b)(kc, nc, bblock, ldb, trans_b, bbuf);

            for (int64_t ic = 0; ic < m; ic += mc_size) {
                const int64_t mc = FM_NAME(min)(mc_size, m - ic);
                const T *ablock = trans_a ? a + pc * lda + ic : a + ic * lda + pc;
                if (pack_a)
                    FM_NAME(pack_a)(mc, kc, ablock, lda, trans_a, abuf);

                for (int64_t jr = 0; jr < nc; jr += NR) {
                    const int64_t nr = FM_NAME(min)(NR, nc - jr);
                    const T *bpanel = bbuf + jr * kc;
                    int64_t rsb = NR;
                    if (strip_b || (!pack_all_b && nr < NR)) {
                        /* (read in place, a ragged strip's full-vector loads
                         * would pass B's last row) */
                        FM_NAME(pack_b)(kc, nr, trans_b ? bblock + jr * ldb : bblock + jr, ldb,
                                        trans_b, bbuf);
                        bpanel = bbuf;
                    } else if (!pack_all_b) {
                        bpanel = bblock + jr;
                        rsb = ldb;
                    }
                    const T *bias = last && pr->bias != NULL ? pr->bias + jc + jr : NULL;
                    const int tile_relu = last && relu;

                    for (int64_t ir = 0; ir < mc;) {
                        /* Rows read in place may start anywhere: the last
                         * MR + r rows (0 < r < MR) go as two tiles of about
                         * equal height, whose FMA chains keep the pipes
                         * busier than a full tile and a thin one (32 rows:
                         * 6, 6, 6, 6, 4, 4 rather than ..., 6, 2). Packed
                         * strips are MR tall. */
                        const int64_t left = mc - ir;
                        const int rows =
                            (int)(!pack_a && left > MR && left < 2 * MR ? (left + 1) / 2
                                                                        : FM_NAME(min)(MR, left));
                        T *ctile = c + (ic + ir) * ldc + jc + jr;
                        const T *apanel = a_rows   ? ablock + ir
                                          : pack_a ? abuf + ir * kc
                                                   : ablock + ir * lda;
                        /* packed strips' steps are MR apart */
                        const int64_t astep = pack_a ? MR : lda;
                        T *vtile = step != NULL && step->form != 2
                                       ? step->velocity + (ic + ir) * ldc + jc + jr
                                       : NULL;
                        const int narrow = NARROW && nr <= VW;
                        if (step != NULL)
                            FM_NAME(microkernel_step)(rows, narrow, a_steps, kc, apanel, astep,
                                                      bpanel, rsb, ctile, ldc, (int)nr, step,
                                                      vtile);
                        else
                            FM_NAME(microkernel)(rows, narrow, a_steps, kc, apanel, astep, bpanel,
                                                 rsb, ctile, ldc, (int)nr, alpha_eff, beta_eff,
                                                 bias, tile_relu, post_on, post);
                        if (last && FM_NAME(act_after_store)(act.kind))
                            FM_CAT(fm_activation_forward_, SUF)(act, rows, nr, ctile, ldc,
                                                                ctile, ldc);
                        ir += rows;
                    }
                }
                /* Rows ic..ic+mc are complete (and in L2) when one jc covers n. */
                if (last && fm_gemm_needs_rows(act.kind) && nc == n)
                    FM_CAT(fm_gemm_rows_stage_, SUF)(pr, ic, mc);
            }
        }
    }
    if (fm_gemm_needs_rows(act.kind) && n > nc_size)
        FM_CAT(fm_gemm_rows_stage_, SUF)(pr, 0, m);

    fm_free(own);
    return FM_OK;
}

#undef FM_NAME
#undef NV
#undef SP_VECS
#undef SP_WIDE_B
#undef SP_NARROW_
#undef SP_NARROW
#undef SP_PACKED
#undef SP_PACK_USES
#undef SP_STEP_ROWS
#undef SMALL_M
#undef NARROW
#undef FM_A_GROUPS
#undef A_T_IN_PLACE
#undef PACK_A_MIN_N
#undef VREGS
#undef COL_ACCS
#undef COL_MV
#undef COL_MIN_M
#undef TR_PATH
#undef TR_MIN_M
#undef TR_MAX_M
#undef TR_VECS
#undef TR_COLS
#undef TR_MIN_KN
#undef DOT_MAX_N
#undef DOT_ACCS
#undef DOT_ROWS
#undef VREDUCE
#undef GEMV_VECS
#undef T
#undef SUF
#undef PREFIX
#undef MR
#undef NR
#undef KC
#undef MC
#undef NC
#undef VEC
#undef VW
#undef VLOAD
#undef VSTORE
#undef VLOAD_PART
#undef VSTORE_PART
#undef VBCAST
#undef VZERO
#undef VFMA
#undef VMUL
#undef VDIV
#undef VSEL_GT
#undef VSEL_LT
#undef VADD
#undef VRELU
#undef TRANSPOSE8
