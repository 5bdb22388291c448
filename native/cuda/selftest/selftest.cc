// xarxa_cuda_selftest: runs every Backend op on the CPU reference and on the
// CUDA backend (libxarxa_cuda.so, opened with dlopen like the addon does) with
// the same random inputs, and compares. Needs a GPU; without one it prints why
// and exits 2. Build and run (on a GPU machine):
//
//   cmake --build <build dir> --target xarxa_cuda_selftest
//   <dir of xarxa.node>/xarxa_cuda_selftest [path/to/libxarxa_cuda.so]
//   xarxa_cuda_selftest --cpu-vs-cpu     (checks the test itself: CPU against CPU)
//
// Exit status: 0 all checks passed, 1 a check failed, 2 CUDA not usable.
// Tolerance: |gpu - cpu| <= 1e-4 * |cpu| + 1e-5 * max|cpu| (per tensor), or
// bitwise equality where the arithmetic is the same on both sides.
#include <dlfcn.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "core/backend.h"
#include "core/error.h"
#include "core/rng.h"
#include "cpu/cpu_backend.h"
#include "cuda/plugin.h"
#include "layers/conv2d.h"
#include "layers/dense.h"
#include "layers/pooling2d.h"
#include "layers/simple_layers.h"
#include "layers/window.h"
#include "model/model.h"

using namespace xarxa;

namespace {

int g_failed = 0, g_passed = 0;
xarxa_cuda_release_cache_fn g_release = nullptr;  // the library's, for the recording tests
Rng g_rng(20240611);

std::vector<float> random_vec(size_t n, float lo = -1.0f, float hi = 1.0f) {
  std::vector<float> v(n);
  for (auto& x : v) x = lo + (hi - lo) * g_rng.uniform();
  return v;
}

// Values on a coarse grid (multiples of 0.25), so maxima tie often.
std::vector<float> coarse_vec(size_t n) {
  std::vector<float> v(n);
  for (auto& x : v) x = std::floor(g_rng.uniform() * 8.0f) * 0.25f - 1.0f;
  return v;
}

// Coarse values that are all negative: a padded cell read as 0 would win a max.
std::vector<float> negative_vec(size_t n) {
  std::vector<float> v = coarse_vec(n);
  for (auto& x : v) x -= 2.0f;
  return v;
}

void report(const std::string& name, bool ok, const std::string& detail) {
  std::printf("%-4s %-58s %s\n", ok ? "ok" : "FAIL", name.c_str(), detail.c_str());
  std::fflush(stdout);
  (ok ? g_passed : g_failed)++;
}

// Recording must work on a GPU: it may be off only when asked (XARXA_CUDA_GRAPHS=0, the op profiler).
bool graphs_off_on_purpose(const std::string& step_graphs) {
  return step_graphs.find("XARXA_CUDA_GRAPHS=0") != std::string::npos ||
         step_graphs.find("XARXA_CUDA_PROFILE") != std::string::npos;
}

void compare(const std::string& name, const std::vector<float>& cpu, const std::vector<float>& gpu,
             bool bitwise = false, double rtol = 1e-4, double scale_tol = 1e-5) {
  if (cpu.size() != gpu.size()) {
    report(name, false, "size mismatch");
    return;
  }
  double scale = 0.0;
  for (float v : cpu) scale = std::max(scale, (double)std::fabs(v));
  double max_abs = 0.0, max_rel = 0.0;
  size_t bad = 0, differ = 0, worst = 0;
  for (size_t i = 0; i < cpu.size(); i++) {
    const double a = gpu[i], b = cpu[i];
    if (std::memcmp(&gpu[i], &cpu[i], sizeof(float)) != 0) differ++;
    if (std::isnan(a) != std::isnan(b) || std::isinf(a) != std::isinf(b)) {
      bad++;
      continue;
    }
    if (std::isnan(b) || std::isinf(b)) {
      if (!std::isnan(b) && a != b) bad++;
      continue;
    }
    const double d = std::fabs(a - b);
    if (d > max_abs) {
      max_abs = d;
      worst = i;
    }
    if (b != 0.0) max_rel = std::max(max_rel, d / std::fabs(b));
    if (d > rtol * std::fabs(b) + scale_tol * scale) bad++;
  }
  const bool ok = bitwise ? differ == 0 : bad == 0;
  char detail[256];
  std::snprintf(detail, sizeof detail, "n=%zu max_abs=%.3g max_rel=%.3g bitwise_diff=%zu%s", cpu.size(), max_abs,
                max_rel, differ, ok ? "" : (" worst@" + std::to_string(worst)).c_str());
  report(name + (bitwise ? " [bitwise]" : ""), ok, detail);
}

// One buffer on each backend, holding the same data.
struct Twin {
  Backend* cpu;
  Backend* gpu;
  void* c = nullptr;
  void* g = nullptr;
  size_t bytes = 0;
  Twin(Backend* cb, Backend* gb, size_t nbytes) : cpu(cb), gpu(gb), bytes(nbytes) {
    c = cpu->alloc(bytes);
    g = gpu->alloc(bytes);
  }
  Twin(Backend* cb, Backend* gb, const std::vector<float>& init) : Twin(cb, gb, init.size() * sizeof(float)) {
    set(init);
  }
  ~Twin() {
    cpu->free(c);
    gpu->free(g);
  }
  Twin(const Twin&) = delete;
  Twin& operator=(const Twin&) = delete;
  void set(const std::vector<float>& v) {
    cpu->upload(c, v.data(), v.size() * sizeof(float));
    gpu->upload(g, v.data(), v.size() * sizeof(float));
  }
  float* cf() const { return static_cast<float*>(c); }
  float* gf() const { return static_cast<float*>(g); }
  double* cd() const { return static_cast<double*>(c); }
  double* gd() const { return static_cast<double*>(g); }
  std::vector<float> get_cpu() const { return get(cpu, c); }
  std::vector<float> get_gpu() const { return get(gpu, g); }
  std::vector<float> get(Backend* b, void* p) const {
    std::vector<float> v(bytes / sizeof(float));
    b->download(v.data(), p, bytes);
    return v;
  }
  void check(const std::string& name, bool bitwise = false, double rtol = 1e-4, double scale_tol = 1e-5) const {
    compare(name, get_cpu(), get_gpu(), bitwise, rtol, scale_tol);
  }
};

WindowParams window(int batch, int h, int w, int c, int out_c, int kh, int kw, int sh, int sw, Padding pad) {
  WindowParams p;
  Axis ay = window_axis(h, kh, sh, pad, "selftest"), ax = window_axis(w, kw, sw, pad, "selftest");
  p.batch = batch;
  p.in_h = h;
  p.in_w = w;
  p.in_c = c;
  p.out_h = ay.out;
  p.out_w = ax.out;
  p.out_c = out_c;
  p.k_h = kh;
  p.k_w = kw;
  p.stride_h = sh;
  p.stride_w = sw;
  p.pad_top = ay.pad_before;
  p.pad_left = ax.pad_before;
  return p;
}

std::string describe(const WindowParams& p) {
  char s[160];
  std::snprintf(s, sizeof s, "%dx%dx%dx%d k%dx%d s%dx%d pad%d,%d ->%dx%dx%d", p.batch, p.in_h, p.in_w, p.in_c, p.k_h,
                p.k_w, p.stride_h, p.stride_w, p.pad_top, p.pad_left, p.out_h, p.out_w, p.out_c);
  return s;
}

// A small CNN trained end to end on one backend: TF 'same' padding that is asymmetric
// (explicit padding on CUDA), max and average pooling, dropout, momentum + Nesterov,
// partial last batches in fit, evaluate and predict (which pass pointers into the
// middle of the dataset), and optionally channelsFirst (the NCHW <-> NHWC copies).
struct ModelRun {
  std::vector<float> weights;  // all parameters, concatenated
  RunStats fit, eval;
  std::vector<float> pred;
  std::vector<std::pair<int, RunStats>> reports;  // progress of the last epoch
};

ModelRun run_model(Backend* backend, bool channels_first, const std::vector<float>& xs, const std::vector<float>& ys,
                   int n, int batch = 16, int progress_every = 0, bool dropout = true) {
  std::shared_ptr<Backend> b(backend, [](Backend*) {});  // not owned
  ModelRun r;
  Model m(b, 42);
  Backend& B = *backend;
  m.add(std::make_unique<Conv2D>(B, 6, 3, 3, 2, 2, Padding::Same, channels_first, Activation::Relu, true));
  m.add(std::make_unique<Pooling2D>(B, PoolKind::Max, 2, 2, 2, 2, Padding::Same, channels_first));
  m.add(std::make_unique<Conv2D>(B, 4, 2, 2, 1, 1, Padding::Same, channels_first, Activation::Tanh, true));
  m.add(std::make_unique<Pooling2D>(B, PoolKind::Average, 3, 3, 1, 1, Padding::Same, channels_first));
  m.add(std::make_unique<Flatten>(B, channels_first));
  if (dropout) m.add(std::make_unique<Dropout>(B, 0.25f, 99));  // without: steps are recorded (CUDA graphs)
  m.add(std::make_unique<Dense>(B, 5, Activation::Softmax, true));
  m.build(channels_first ? Shape{3, 9, 8} : Shape{9, 8, 3});
  SgdConfig sgd;
  sgd.learning_rate = 0.05f;
  sgd.momentum = 0.9f;
  sgd.nesterov = true;
  m.compile(Loss::CategoricalCrossentropy, sgd);
  DeviceDataset data(b, xs.data(), ys.data(), n, 9 * 8 * 3, 5);
  std::vector<int32_t> order(n);
  for (int i = 0; i < n; i++) order[i] = (int32_t)((i * 7) % n);  // n = 40: a permutation
  const int batches = (n + batch - 1) / batch;
  ProgressFn record = [&r](int b, const RunStats& s) { r.reports.emplace_back(b, s); };
  for (int epoch = 0; epoch < 2; epoch++) {
    r.reports.clear();
    r.fit = m.train(data, order.data(), batch, 0, batches, progress_every, progress_every ? record : nullptr, nullptr);
  }
  r.eval = m.evaluate(data, batch);
  r.pred.resize((size_t)n * 5);
  m.predict(data, batch, r.pred.data());
  auto ps = m.params();
  for (int i = 0; i < (int)ps.size(); i++) {
    std::vector<float> w(ps[i]->size());
    m.get_param(i, w.data());
    r.weights.insert(r.weights.end(), w.begin(), w.end());
  }
  return r;
}

void model_tests(Backend* C, Backend* G) {
  const int n = 40;
  const std::vector<float> xs = random_vec((size_t)n * 9 * 8 * 3);
  std::vector<float> ys((size_t)n * 5, 0.0f);
  for (int i = 0; i < n; i++) ys[(size_t)i * 5 + g_rng.below(5)] = 1.0f;
  for (int cf = 0; cf < 2; cf++) {
    const std::string tag = cf ? " (channelsFirst)" : "";
    const ModelRun a = run_model(C, cf, xs, ys, n), b = run_model(G, cf, xs, ys, n);
    compare("model: weights after 2 epochs of fit" + tag, a.weights, b.weights, false, 1e-3, 1e-4);
    compare("model: predict, partial last batch" + tag, a.pred, b.pred, false, 1e-3, 1e-4);
    report("model: fit loss sum (last epoch)" + tag,
           std::fabs(a.fit.loss_sum - b.fit.loss_sum) <= 1e-4 * std::fabs(a.fit.loss_sum),
           "cpu " + std::to_string(a.fit.loss_sum) + " gpu " + std::to_string(b.fit.loss_sum));
    report("model: evaluate loss sum, partial last batch" + tag,
           std::fabs(a.eval.loss_sum - b.eval.loss_sum) <= 1e-3 * std::fabs(a.eval.loss_sum) &&
               a.eval.samples == n && b.eval.samples == n,
           "cpu " + std::to_string(a.eval.loss_sum) + " gpu " + std::to_string(b.eval.loss_sum) + ", correct " +
               std::to_string(a.eval.correct) + " / " + std::to_string(b.eval.correct));
  }
  // Without dropout, full batches after the first run as recorded steps (CUDA graphs, Model::train).
  {
    const ModelRun a = run_model(C, false, xs, ys, n, 8, 0, false), b = run_model(G, false, xs, ys, n, 8, 0, false);
    compare("model: weights after 2 epochs, steps recorded", a.weights, b.weights, false, 1e-3, 1e-4);
    const std::string graphs = G->info().step_graphs;
    report("model: fit loss sum, steps recorded", std::fabs(a.fit.loss_sum - b.fit.loss_sum) <= 1e-4 * std::fabs(a.fit.loss_sum),
           "cpu " + std::to_string(a.fit.loss_sum) + " gpu " + std::to_string(b.fit.loss_sum) + "; steps as CUDA graphs: " + graphs);
    if (G->info().backend == "cuda")
      report("model: steps were recorded as CUDA graphs", graphs == "on" || graphs_off_on_purpose(graphs),
             "steps as CUDA graphs: " + graphs);
  }
  // Progress read without stalling (every 3 batches, request_stats/poll_stats) must
  // report the same running totals as per-batch synchronous reads on the CPU, for
  // whichever batches the GPU's timing let it report, ending with the last batch.
  const ModelRun exact = run_model(C, false, xs, ys, n, 4, 1), async = run_model(G, false, xs, ys, n, 4, 3);
  bool ok = !async.reports.empty() && async.reports.back().first == 9 && exact.reports.size() == 10;
  std::string detail = std::to_string(async.reports.size()) + " reports at batches";
  int previous = -1;
  for (const auto& [batch, s] : async.reports) {
    detail += " " + std::to_string(batch);
    if (batch <= previous || batch < 0 || batch >= (int)exact.reports.size()) {
      ok = false;
      continue;
    }
    previous = batch;
    const RunStats& want = exact.reports[batch].second;
    ok = ok && s.samples == want.samples && s.batches == want.batches && s.correct == want.correct &&
         std::fabs(s.loss_sum - want.loss_sum) <= 1e-4 * std::fabs(want.loss_sum);
  }
  report("model: asynchronous progress every 3 batches matches per-batch totals", ok, detail);
}

// Backend::record on the GPU: ops recorded once and replayed three times do
// what calling them three times does on the CPU (an SGD loop on a tiny dense
// layer: the replays read what the previous ones wrote).
void record_tests(Backend* C, Backend* G) {
  if (G->info().backend != "cuda") return;  // --cpu-vs-cpu: the CPU records nothing
  const int rows = 24, in = 40, out = 12;
  const std::vector<float> xs = random_vec((size_t)rows * in), w0 = random_vec((size_t)in * out);
  Twin x(C, G, xs), w(C, G, w0), y(C, G, (size_t)rows * out * sizeof(float)), g(C, G, (size_t)in * out * sizeof(float));
  auto ops = [&](Backend* B, bool gpu) {
    float* X = static_cast<float*>(gpu ? x.g : x.c);
    float* W = static_cast<float*>(gpu ? w.g : w.c);
    float* Y = static_cast<float*>(gpu ? y.g : y.c);
    float* Gr = static_cast<float*>(gpu ? g.g : g.c);
    B->gemm(false, false, rows, out, in, 1.0f, X, in, W, out, 0.0f, Y, out);
    B->activation_forward(Activation::Tanh, Y, Y, rows, out);
    B->gemm(true, false, in, out, rows, 1.0f / rows, X, in, Y, out, 0.0f, Gr, out);
    B->sgd_update(W, Gr, nullptr, (size_t)in * out, 0.1f, 0.0f, false);
  };
  // Once op by op first, as training does before it records: cuBLAS and the kernels are loaded, nothing is
  // first used inside the capture. (The CPU runs it too, so both start the replays from the same state.)
  ops(C, false);
  ops(G, true);
  std::unique_ptr<RecordedOps> recorded = G->record([&] { ops(G, true); });
  if (!recorded) {
    const std::string now = G->info().step_graphs;  // with the reason, when the recording failed
    report("record: a recording on the GPU", graphs_off_on_purpose(now), "steps as CUDA graphs: " + now);
    return;
  }
  for (int i = 0; i < 3; i++) {
    ops(C, false);
    recorded->replay();
  }
  compare("record: 3 replays of gemm, tanh, gemm, sgd", w.get_cpu(), w.get_gpu(), false, 1e-4, 1e-5);
  compare("record: 3 replays, last activations", y.get_cpu(), y.get_gpu(), false, 1e-4, 1e-5);
  recorded.reset();

  // An overlapping copy goes through a scratch block, which is back in the memory
  // cache once recorded. While the recording lives, giving the cache back to the
  // driver must not free it (the replay would use freed memory); after, it may.
  if (!g_release) return;
  std::vector<float> v = random_vec(4096);
  Twin a(C, G, v);
  const size_t shift = 5 * sizeof(float), part = a.bytes - shift;
  G->copy(static_cast<char*>(a.g) + shift, a.g, part);  // run once first, as training does: the scratch block is cached
  C->copy(static_cast<char*>(a.c) + shift, a.c, part);
  std::unique_ptr<RecordedOps> copy = G->record([&] { G->copy(static_cast<char*>(a.g) + shift, a.g, part); });
  if (!copy) {
    report("record: an overlapping copy", false, "not recorded: steps as CUDA graphs: " + G->info().step_graphs);
    return;
  }
  const size_t freed_while_held = g_release(G);
  C->copy(static_cast<char*>(a.c) + shift, a.c, part);
  copy->replay();
  a.check("record: replay after release_cache (overlapping copy)", true);
  copy.reset();
  const size_t freed_after = g_release(G);
  report("record: release_cache frees no block while a recording lives", freed_while_held == 0 && freed_after > 0,
         "freed " + std::to_string(freed_while_held) + " bytes while recorded, " + std::to_string(freed_after) + " after");
}

void run_all(Backend* C, Backend* G) {
  record_tests(C, G);
  // ---- memory and data movement --------------------------------------------------------
  {
    auto v = random_vec(1000);
    Twin a(C, G, v), b(C, G, 1000 * sizeof(float));
    C->copy(b.c, a.c, a.bytes);
    G->copy(b.g, a.g, a.bytes);
    b.check("upload/copy/download", true);
    C->fill(b.cf() + 10, 3.5f, 900);
    G->fill(b.gf() + 10, 3.5f, 900);
    b.check("fill", true);
    std::vector<float> back;
    std::thread t([&] { back = b.get_gpu(); });  // another thread: the device must be made current there
    t.join();
    compare("download from another thread", b.get_cpu(), back, true);
  }
  {
    // upload() must have read the host source when it returns: callers free or reuse it at once.
    std::vector<float> host = random_vec((size_t)1 << 22);
    const std::vector<float> expect = host;
    Twin a(C, G, host.size() * sizeof(float));
    C->upload(a.c, host.data(), a.bytes);
    G->upload(a.g, host.data(), a.bytes);
    std::fill(host.begin(), host.end(), -7.0f);
    compare("upload: host source overwritten right after the call", expect, a.get_gpu(), true);
    C->copy(a.c, a.c, a.bytes);  // dst == src: nothing to do
    G->copy(a.g, a.g, a.bytes);
    a.check("copy onto itself", true);
    // Overlapping ranges, both directions: memmove semantics on both backends.
    const size_t shift = 3 * sizeof(float), part = a.bytes - shift;
    C->copy(static_cast<char*>(a.c) + shift, a.c, part);
    G->copy(static_cast<char*>(a.g) + shift, a.g, part);
    a.check("copy to overlapping range (forward)", true);
    C->copy(a.c, static_cast<char*>(a.c) + shift, part);
    G->copy(a.g, static_cast<char*>(a.g) + shift, part);
    a.check("copy to overlapping range (backward)", true);
  }
  {
    const int n = 50, len = 37;
    auto src = random_vec((size_t)n * len);
    std::vector<float> idx_f(n);
    std::vector<int32_t> idx(n);
    for (int i = 0; i < n; i++) idx[i] = (int32_t)g_rng.below(n);
    std::memcpy(idx_f.data(), idx.data(), sizeof(int32_t) * n);
    Twin s(C, G, src), index(C, G, idx_f), d(C, G, (size_t)20 * len * sizeof(float));
    C->gather_rows(d.cf(), s.cf(), static_cast<int32_t*>(index.c), 7, 20, len);
    G->gather_rows(d.gf(), s.gf(), static_cast<int32_t*>(index.g), 7, 20, len);
    d.check("gather_rows", true);
    // A training batch's inputs and labels in one call (one kernel on CUDA).
    auto labels = random_vec((size_t)n * 10);
    Twin ys(C, G, labels), dx(C, G, d.bytes), dy(C, G, (size_t)20 * 10 * sizeof(float));
    C->gather_batch(dx.cf(), s.cf(), len, dy.cf(), ys.cf(), 10, static_cast<int32_t*>(index.c), 7, 20);
    G->gather_batch(dx.gf(), s.gf(), len, dy.gf(), ys.gf(), 10, static_cast<int32_t*>(index.g), 7, 20);
    dx.check("gather_batch inputs", true);
    dy.check("gather_batch labels", true);
  }
  {
    const int n = 3, c = 5, h = 7, w = 6;
    auto v = random_vec((size_t)n * c * h * w);
    Twin a(C, G, v), b(C, G, a.bytes), r(C, G, a.bytes);
    C->nchw_to_nhwc(b.cf(), a.cf(), n, c, h, w);
    G->nchw_to_nhwc(b.gf(), a.gf(), n, c, h, w);
    b.check("nchw_to_nhwc", true);
    C->nhwc_to_nchw(r.cf(), b.cf(), n, c, h, w);
    G->nhwc_to_nchw(r.gf(), b.gf(), n, c, h, w);
    r.check("nhwc_to_nchw", true);
  }
  // ---- gemm -------------------------------------------------------------------------------
  for (int ta = 0; ta < 2; ta++)
    for (int tb = 0; tb < 2; tb++) {
      const int m = 33, n = 17, k = 29;
      const int lda = (ta ? m : k) + 3, ldb = (tb ? k : n) + 2, ldc = n + 5;
      const int a_rows = ta ? k : m, b_rows = tb ? n : k;
      Twin a(C, G, random_vec((size_t)a_rows * lda)), b(C, G, random_vec((size_t)b_rows * ldb)),
          c(C, G, random_vec((size_t)m * ldc));
      C->gemm(ta, tb, m, n, k, 0.7f, a.cf(), lda, b.cf(), ldb, 0.3f, c.cf(), ldc);
      G->gemm(ta, tb, m, n, k, 0.7f, a.gf(), lda, b.gf(), ldb, 0.3f, c.gf(), ldc);
      c.check("gemm trans_a=" + std::to_string(ta) + " trans_b=" + std::to_string(tb) + " strided alpha/beta");
    }
  {
    const int m = 256, n = 512, k = 784;
    Twin a(C, G, random_vec((size_t)m * k)), b(C, G, random_vec((size_t)k * n)), c(C, G, random_vec((size_t)m * n));
    C->gemm(false, false, m, n, k, 1.0f, a.cf(), k, b.cf(), n, 0.0f, c.cf(), n);
    G->gemm(false, false, m, n, k, 1.0f, a.gf(), k, b.gf(), n, 0.0f, c.gf(), n);
    c.check("gemm 256x512x784 beta=0");
    C->gemm(true, false, k, n, m, 1.0f, a.cf(), k, c.cf(), n, 0.0f, b.cf(), n);  // dense-layer weight gradient
    G->gemm(true, false, k, n, m, 1.0f, a.gf(), k, c.gf(), n, 0.0f, b.gf(), n);
    b.check("gemm A^T B 784x512x256");
    Twin e(C, G, random_vec(6 * 4));
    C->gemm(false, false, 6, 4, 0, 1.0f, a.cf(), 1, b.cf(), 4, 0.5f, e.cf(), 4);
    G->gemm(false, false, 6, 4, 0, 1.0f, a.gf(), 1, b.gf(), 4, 0.5f, e.gf(), 4);
    e.check("gemm k=0 (C = beta C)");
    // alpha = 0: A and B are not read (a NaN there must not reach C), C = beta C.
    std::vector<float> nan_a((size_t)6 * 5, NAN);
    Twin na(C, G, nan_a), nb(C, G, random_vec(5 * 4));
    C->gemm(false, false, 6, 4, 5, 0.0f, na.cf(), 5, nb.cf(), 4, 0.5f, e.cf(), 4);
    G->gemm(false, false, 6, 4, 5, 0.0f, na.gf(), 5, nb.gf(), 4, 0.5f, e.gf(), 4);
    e.check("gemm alpha=0 with NaN in A (C = beta C)");
  }
  for (int ta = 0; ta < 2; ta++)
    for (int tb = 0; tb < 2; tb++) {
      // Vector shapes (Dense with one unit, one row): the leading-dimension rules at their edge.
      const int shapes[3][3] = {{37, 1, 19}, {1, 23, 19}, {29, 13, 1}};
      for (const auto& sh : shapes) {
        const int m = sh[0], n = sh[1], k = sh[2];
        const int lda = ta ? m : k, ldb = tb ? k : n, ldc = n;
        Twin a(C, G, random_vec((size_t)(ta ? k : m) * lda)), b(C, G, random_vec((size_t)(tb ? n : k) * ldb)),
            c(C, G, random_vec((size_t)m * ldc));
        C->gemm(ta, tb, m, n, k, 1.0f, a.cf(), lda, b.cf(), ldb, 0.0f, c.cf(), ldc);
        G->gemm(ta, tb, m, n, k, 1.0f, a.gf(), lda, b.gf(), ldb, 0.0f, c.gf(), ldc);
        c.check("gemm " + std::to_string(m) + "x" + std::to_string(n) + "x" + std::to_string(k) +
                " trans_a=" + std::to_string(ta) + " trans_b=" + std::to_string(tb));
      }
    }
  // ---- bias ----------------------------------------------------------------------------------
  {
    const int rows = 1000, cols = 32;
    Twin y(C, G, random_vec((size_t)rows * cols)), bias(C, G, random_vec(cols)), db(C, G, random_vec(cols));
    C->bias_add(y.cf(), bias.cf(), rows, cols);
    G->bias_add(y.gf(), bias.gf(), rows, cols);
    y.check("bias_add", true);
    C->bias_grad(db.cf(), y.cf(), rows, cols);
    G->bias_grad(db.gf(), y.gf(), rows, cols);
    db.check("bias_grad 1000x32", false, 1e-4, 1e-5);
    // More rows than before (the CUDA backend's vector of ones grows), then no rows (db = 0).
    Twin y2(C, G, random_vec((size_t)5000 * 7)), db2(C, G, random_vec(7));
    C->bias_grad(db2.cf(), y2.cf(), 5000, 7);
    G->bias_grad(db2.gf(), y2.gf(), 5000, 7);
    db2.check("bias_grad 5000x7", false, 1e-4, 1e-5);
    C->bias_grad(db2.cf(), y2.cf(), 0, 7);
    G->bias_grad(db2.gf(), y2.gf(), 0, 7);
    db2.check("bias_grad 0 rows (zeros)", true);
  }
  // ---- activations -------------------------------------------------------------------------
  const Activation acts[] = {Activation::Linear, Activation::Relu, Activation::Sigmoid, Activation::Tanh,
                             Activation::Softmax};
  const char* act_names[] = {"linear", "relu", "sigmoid", "tanh", "softmax"};
  for (int ai = 0; ai < 5; ai++) {
    const int rows = 67, cols = 13;
    const bool exact = ai <= 1;
    auto xv = random_vec((size_t)rows * cols, -4.0f, 4.0f);
    Twin x(C, G, xv), y(C, G, x.bytes), dy(C, G, random_vec(xv.size())), dx(C, G, x.bytes);
    C->activation_forward(acts[ai], x.cf(), y.cf(), rows, cols);
    G->activation_forward(acts[ai], x.gf(), y.gf(), rows, cols);
    y.check(std::string("activation_forward ") + act_names[ai], exact);
    C->activation_backward(acts[ai], y.cf(), dy.cf(), dx.cf(), rows, cols);
    G->activation_backward(acts[ai], y.gf(), dy.gf(), dx.gf(), rows, cols);
    dx.check(std::string("activation_backward ") + act_names[ai], exact);
    // in place
    C->activation_forward(acts[ai], x.cf(), x.cf(), rows, cols);
    G->activation_forward(acts[ai], x.gf(), x.gf(), rows, cols);
    x.check(std::string("activation_forward in place ") + act_names[ai], exact);
    C->activation_backward(acts[ai], x.cf(), dy.cf(), dy.cf(), rows, cols);
    G->activation_backward(acts[ai], x.gf(), dy.gf(), dy.gf(), rows, cols);
    dy.check(std::string("activation_backward in place ") + act_names[ai], exact);
    // bias + activation in one call (fused on CUDA), with and without a bias
    for (int with_bias = 0; with_bias < 2; with_bias++) {
      Twin z(C, G, random_vec(xv.size(), -4.0f, 4.0f)), bias(C, G, random_vec(cols));
      C->bias_activation_forward(acts[ai], z.cf(), with_bias ? bias.cf() : nullptr, rows, cols);
      G->bias_activation_forward(acts[ai], z.gf(), with_bias ? bias.gf() : nullptr, rows, cols);
      z.check(std::string("bias_activation_forward ") + act_names[ai] + (with_bias ? " with bias" : " no bias"), exact);
    }
  }
  // activation_bias_backward: in place dy * act'(y), then the bias gradient. On CUDA one
  // kernel up to 512 rows (a dense layer's batch), the two ops above that; softmax and
  // "no bias" always take the two-op path.
  for (int ai = 0; ai < 5; ai++) {
    for (int rows : {1, 67, 512, 513}) {
      const int cols = ai == 4 ? 10 : 45;  // more than one block of 32 columns
      auto yv = random_vec((size_t)rows * cols, -1.0f, 1.0f);
      Twin y(C, G, (size_t)rows * cols * 4), dy(C, G, random_vec(yv.size()));
      Twin x(C, G, yv), db(C, G, random_vec(cols));
      C->activation_forward(acts[ai], x.cf(), y.cf(), rows, cols);
      G->activation_forward(acts[ai], x.gf(), y.gf(), rows, cols);
      const std::string what = std::string("activation_bias_backward ") + act_names[ai] + " " + std::to_string(rows) +
                               "x" + std::to_string(cols);
      C->activation_bias_backward(acts[ai], y.cf(), dy.cf(), db.cf(), rows, cols);
      G->activation_bias_backward(acts[ai], y.gf(), dy.gf(), db.gf(), rows, cols);
      dy.check(what + ": dy", ai <= 1);
      db.check(what + ": bias gradient", false, 1e-4, 1e-5);
      if (rows == 67) {
        C->activation_bias_backward(acts[ai], y.cf(), dy.cf(), nullptr, rows, cols);
        G->activation_bias_backward(acts[ai], y.gf(), dy.gf(), nullptr, rows, cols);
        dy.check(what + " no bias: dy", ai <= 1);
      }
    }
  }
  {
    // Wide rows with large logits: the max subtraction matters.
    const int rows = 5, cols = 1000;
    Twin x(C, G, random_vec((size_t)rows * cols, -60.0f, 60.0f)), y(C, G, (size_t)rows * cols * 4),
        dy(C, G, random_vec((size_t)rows * cols)), dx(C, G, (size_t)rows * cols * 4);
    C->activation_forward(Activation::Softmax, x.cf(), y.cf(), rows, cols);
    G->activation_forward(Activation::Softmax, x.gf(), y.gf(), rows, cols);
    y.check("activation_forward softmax 5x1000, logits +-60");
    C->activation_backward(Activation::Softmax, y.cf(), dy.cf(), dx.cf(), rows, cols);
    G->activation_backward(Activation::Softmax, y.gf(), dy.gf(), dx.gf(), rows, cols);
    dx.check("activation_backward softmax 5x1000");
    // ReLU keeps NaN (y = x < 0 ? 0 : x) and maps -0 to -0.
    std::vector<float> special = {NAN, -0.0f, 0.0f, -1.0f, 2.0f, INFINITY, -INFINITY};
    Twin s(C, G, special), sy(C, G, special.size() * 4);
    C->activation_forward(Activation::Relu, s.cf(), sy.cf(), 1, (int)special.size());
    G->activation_forward(Activation::Relu, s.gf(), sy.gf(), 1, (int)special.size());
    sy.check("relu on NaN, -0, +-inf", true);
  }
  // ---- losses and metrics -----------------------------------------------------------------------
  {
    const int rows = 64, cols = 10;
    // Softmax of large logits: some probabilities saturate (clipping in the loss).
    Twin logits(C, G, random_vec((size_t)rows * cols, -20.0f, 20.0f)), probs(C, G, (size_t)rows * cols * 4);
    C->activation_forward(Activation::Softmax, logits.cf(), probs.cf(), rows, cols);
    G->activation_forward(Activation::Softmax, logits.gf(), probs.gf(), rows, cols);
    std::vector<float> labels((size_t)rows * cols, 0.0f);
    for (int r = 0; r < rows; r++) labels[(size_t)r * cols + g_rng.below(cols)] = 1.0f;
    // a few soft labels too
    for (int j = 0; j < cols; j++) labels[(size_t)(rows - 1) * cols + j] = 1.0f / cols;
    Twin y(C, G, labels), d(C, G, probs.bytes), stats(C, G, 4 * sizeof(double));
    C->zero_stats(stats.cd(), 4);
    G->zero_stats(stats.gd(), 4);
    C->softmax_cross_entropy(probs.cf(), y.cf(), rows, cols, 1.0f / rows, d.cf(), stats.cd());
    G->softmax_cross_entropy(probs.gf(), y.gf(), rows, cols, 1.0f / rows, d.gf(), stats.gd());
    d.check("softmax_cross_entropy gradient (saturated rows)");
    C->softmax_cross_entropy(probs.cf(), y.cf(), rows, cols, 1.0f / rows, nullptr, stats.cd());
    G->softmax_cross_entropy(probs.gf(), y.gf(), rows, cols, 1.0f / rows, nullptr, stats.gd());
    C->count_correct(probs.cf(), y.cf(), rows, cols, stats.cd());
    G->count_correct(probs.gf(), y.gf(), rows, cols, stats.gd());
    // ties in predictions
    Twin tied(C, G, coarse_vec((size_t)rows * cols));
    C->count_correct(tied.cf(), y.cf(), rows, cols, stats.cd());
    G->count_correct(tied.gf(), y.gf(), rows, cols, stats.gd());
    Twin pred(C, G, random_vec((size_t)rows * 7)), target(C, G, random_vec((size_t)rows * 7)),
        dout(C, G, (size_t)rows * 7 * 4);
    C->mean_squared_error(pred.cf(), target.cf(), rows, 7, 0.5f, dout.cf(), stats.cd() + 2);
    G->mean_squared_error(pred.gf(), target.gf(), rows, 7, 0.5f, dout.gf(), stats.gd() + 2);
    dout.check("mean_squared_error gradient");
    double hc[4], hg[4];
    C->read_stats(hc, stats.cd(), 4);
    G->read_stats(hg, stats.gd(), 4);
    report("stats: cross-entropy loss sum (2 calls)", std::fabs(hc[0] - hg[0]) <= 1e-5 * std::fabs(hc[0]),
           "cpu " + std::to_string(hc[0]) + " gpu " + std::to_string(hg[0]));
    report("stats: count_correct incl. ties (exact)", hc[1] == hg[1],
           "cpu " + std::to_string(hc[1]) + " gpu " + std::to_string(hg[1]));
    report("stats: mse loss sum", std::fabs(hc[2] - hg[2]) <= 1e-5 * std::fabs(hc[2]),
           "cpu " + std::to_string(hc[2]) + " gpu " + std::to_string(hg[2]));
    // loss_and_count_correct (one kernel on CUDA): the same loss, gradient and count as the
    // separate ops, for both losses, with and without the gradient; ties in the predictions.
    for (Loss loss : {Loss::CategoricalCrossentropy, Loss::MeanSquaredError}) {
      const bool ce = loss == Loss::CategoricalCrossentropy;
      for (const Twin* p : {&probs, &tied}) {
        if (ce && p == &tied) continue;  // cross-entropy wants probabilities
        for (bool grad : {true, false}) {
          const std::string what = std::string("loss_and_count_correct ") + (ce ? "cross-entropy" : "mse") +
                                   (p == &tied ? " (ties)" : "") + (grad ? "" : " no gradient");
          Twin both(C, G, probs.bytes), sc(C, G, 4 * sizeof(double));
          C->zero_stats(sc.cd(), 4);
          G->zero_stats(sc.gd(), 4);
          C->loss_and_count_correct(loss, p->cf(), y.cf(), rows, cols, 0.5f, grad ? both.cf() : nullptr, sc.cd());
          G->loss_and_count_correct(loss, p->gf(), y.gf(), rows, cols, 0.5f, grad ? both.gf() : nullptr, sc.gd());
          if (grad) both.check(what + ": gradient");
          double lc[4], lg[4];
          C->read_stats(lc, sc.cd(), 4);
          G->read_stats(lg, sc.gd(), 4);
          report(what + ": loss, count", std::fabs(lc[0] - lg[0]) <= 1e-5 * std::fabs(lc[0]) && lc[1] == lg[1] &&
                                             lg[1] > 0 && lg[2] == 0 && lg[3] == 0,
                 "cpu " + std::to_string(lc[0]) + ", " + std::to_string(lc[1]) + " gpu " + std::to_string(lg[0]) +
                     ", " + std::to_string(lg[1]));
        }
      }
    }
  }
  {
    // More rows than one block of the per-row loss kernels (256), the last block partial;
    // stats read first with n = 2, then 4 (the pinned staging buffer grows).
    const int rows = 1000, cols = 10;
    Twin logits(C, G, random_vec((size_t)rows * cols, -8.0f, 8.0f)), probs(C, G, (size_t)rows * cols * 4);
    C->activation_forward(Activation::Softmax, logits.cf(), probs.cf(), rows, cols);
    G->activation_forward(Activation::Softmax, logits.gf(), probs.gf(), rows, cols);
    std::vector<float> labels((size_t)rows * cols, 0.0f);
    for (int r = 0; r < rows; r++) labels[(size_t)r * cols + g_rng.below(cols)] = 1.0f;
    Twin y(C, G, labels), d(C, G, probs.bytes), stats(C, G, 4 * sizeof(double)), dm(C, G, probs.bytes);
    C->zero_stats(stats.cd(), 4);
    G->zero_stats(stats.gd(), 4);
    C->softmax_cross_entropy(probs.cf(), y.cf(), rows, cols, 1.0f / rows, d.cf(), stats.cd());
    G->softmax_cross_entropy(probs.gf(), y.gf(), rows, cols, 1.0f / rows, d.gf(), stats.gd());
    d.check("softmax_cross_entropy gradient 1000 rows");
    Twin tied(C, G, coarse_vec((size_t)rows * cols));
    C->count_correct(tied.cf(), y.cf(), rows, cols, stats.cd());
    G->count_correct(tied.gf(), y.gf(), rows, cols, stats.gd());
    C->count_correct(probs.cf(), y.cf(), rows, cols, stats.cd());
    G->count_correct(probs.gf(), y.gf(), rows, cols, stats.gd());
    C->mean_squared_error(probs.cf(), y.cf(), rows, cols, 0.25f, dm.cf(), stats.cd() + 2);
    G->mean_squared_error(probs.gf(), y.gf(), rows, cols, 0.25f, dm.gf(), stats.gd() + 2);
    dm.check("mean_squared_error gradient 1000 rows");
    {
      // One column: binary accuracy (pred > 0.5 -> 1, compared with the label), on
      // predictions at and around 0.5 and labels 0, 1 and a soft 0.5 (never right).
      std::vector<float> p1(rows), y1(rows);
      const float edge[] = {0.5f, 0.49999997f, 0.50000006f, 0.0f, 1.0f, -3.0f, 7.0f};
      for (int r = 0; r < rows; r++) {
        p1[r] = r % 3 == 0 ? edge[r % 7] : (float)g_rng.uniform();
        y1[r] = r % 11 == 0 ? 0.5f : (float)(g_rng.below(2));
      }
      Twin p(C, G, p1), l(C, G, y1), sb(C, G, 4 * sizeof(double)), d1(C, G, p.bytes);
      C->zero_stats(sb.cd(), 4);
      G->zero_stats(sb.gd(), 4);
      C->count_correct(p.cf(), l.cf(), rows, 1, sb.cd());
      G->count_correct(p.gf(), l.gf(), rows, 1, sb.gd());
      C->loss_and_count_correct(Loss::MeanSquaredError, p.cf(), l.cf(), rows, 1, 1.0f / rows, d1.cf(), sb.cd() + 2);
      G->loss_and_count_correct(Loss::MeanSquaredError, p.gf(), l.gf(), rows, 1, 1.0f / rows, d1.gf(), sb.gd() + 2);
      double bc[4], bg[4];
      C->read_stats(bc, sb.cd(), 4);
      G->read_stats(bg, sb.gd(), 4);
      long want = 0;
      for (int r = 0; r < rows; r++) want += (p1[r] > 0.5f ? 1.0f : 0.0f) == y1[r];
      report("count_correct, one column: binary accuracy (exact)", bc[1] == bg[1] && bg[1] == (double)want && bg[3] == bg[1],
             "want " + std::to_string(want) + " cpu " + std::to_string(bc[1]) + " gpu " + std::to_string(bg[1]) +
                 ", fused " + std::to_string(bg[3]));
    }
    {
      // loss_and_count_correct over several blocks, the last one partial.
      Twin both(C, G, probs.bytes), sc(C, G, 4 * sizeof(double));
      C->zero_stats(sc.cd(), 4);
      G->zero_stats(sc.gd(), 4);
      C->loss_and_count_correct(Loss::CategoricalCrossentropy, probs.cf(), y.cf(), rows, cols, 1.0f / rows, both.cf(), sc.cd());
      G->loss_and_count_correct(Loss::CategoricalCrossentropy, probs.gf(), y.gf(), rows, cols, 1.0f / rows, both.gf(), sc.gd());
      both.check("loss_and_count_correct cross-entropy 1000 rows: gradient");
      double lc[4], lg[4];
      C->read_stats(lc, sc.cd(), 4);
      G->read_stats(lg, sc.gd(), 4);
      report("loss_and_count_correct cross-entropy 1000 rows: loss, count",
             std::fabs(lc[0] - lg[0]) <= 1e-5 * std::fabs(lc[0]) && lc[1] == lg[1] && lg[1] > 0,
             "cpu " + std::to_string(lc[0]) + ", " + std::to_string(lc[1]) + " gpu " + std::to_string(lg[0]) + ", " +
                 std::to_string(lg[1]));
    }
    double hc[4], hg[4];
    C->read_stats(hc, stats.cd(), 2);
    G->read_stats(hg, stats.gd(), 2);
    report("stats (n=2): cross-entropy loss sum, 1000 rows", std::fabs(hc[0] - hg[0]) <= 1e-5 * std::fabs(hc[0]),
           "cpu " + std::to_string(hc[0]) + " gpu " + std::to_string(hg[0]));
    report("stats (n=2): count_correct 1000 rows incl. ties (exact)", hc[1] == hg[1],
           "cpu " + std::to_string(hc[1]) + " gpu " + std::to_string(hg[1]));
    C->read_stats(hc, stats.cd(), 4);
    G->read_stats(hg, stats.gd(), 4);
    report("stats (n=4): mse loss sum, 1000 rows", std::fabs(hc[2] - hg[2]) <= 1e-5 * std::fabs(hc[2]),
           "cpu " + std::to_string(hc[2]) + " gpu " + std::to_string(hg[2]));
    // The same stats through request_stats/poll_stats: polled until the snapshot lands
    // (bounded), once only, and a snapshot taken before a later op does not see it.
    double ha[4] = {0, 0, 0, 0}, later[4];
    G->request_stats(stats.gd(), 4);
    G->zero_stats(stats.gd(), 4);  // enqueued after the snapshot
    bool landed = false;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!(landed = G->poll_stats(ha, 4)) && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
    // note_non_finite: marks the first batch after which the loss sum is not finite, once.
    {
      const double nan_loss[3] = {std::nan(""), 0.0, 0.0};
      double after[3] = {0, 0, 0}, finite_after[3] = {0, 0, 0};
      Twin marks(C, G, 3 * sizeof(double));
      G->upload(marks.g, nan_loss, sizeof(nan_loss));
      G->note_non_finite(marks.gd(), 4);
      G->note_non_finite(marks.gd(), 7);
      G->read_stats(after, marks.gd(), 3);
      const double fine[3] = {12.5, 3.0, 0.0};
      G->upload(marks.g, fine, sizeof(fine));
      G->note_non_finite(marks.gd(), 2);
      G->read_stats(finite_after, marks.gd(), 3);
      report("stats: note_non_finite marks the first non-finite batch once, not a finite one",
             after[kStatFirstNonFinite] == 5.0 && finite_after[kStatFirstNonFinite] == 0.0,
             "after NaN at batch 4 then 7: " + std::to_string(after[kStatFirstNonFinite]) + ", finite: " +
                 std::to_string(finite_after[kStatFirstNonFinite]));
    }
    report("stats: request_stats/poll_stats snapshot equals read_stats",
           landed && ha[0] == hg[0] && ha[1] == hg[1] && ha[2] == hg[2] && !G->poll_stats(later, 4),
           landed ? "gpu " + std::to_string(ha[0]) + " vs " + std::to_string(hg[0]) : "snapshot never landed");
  }
  // ---- convolution --------------------------------------------------------------------------------
  const WindowParams convs[] = {
      window(3, 9, 9, 2, 4, 3, 3, 1, 1, Padding::Same),     // symmetric 'same'
      window(2, 8, 8, 3, 5, 2, 2, 1, 1, Padding::Same),     // pad 0 before, 1 after
      window(2, 7, 6, 3, 4, 3, 3, 2, 2, Padding::Same),     // rows symmetric, columns not
      window(2, 6, 6, 2, 3, 4, 4, 1, 1, Padding::Same),     // pad 1 before, 2 after
      window(4, 10, 10, 1, 8, 5, 5, 1, 1, Padding::Valid),  // valid
      window(2, 9, 9, 2, 3, 2, 2, 2, 2, Padding::Valid),    // valid, last row unused
      window(2, 5, 5, 6, 7, 1, 1, 1, 1, Padding::Valid),    // 1x1
      window(32, 28, 28, 1, 32, 3, 3, 1, 1, Padding::Same), // MNIST-size
      window(7, 28, 28, 1, 32, 3, 3, 1, 1, Padding::Same),  // the same, a partial batch (plans keyed on batch)
      window(2, 8, 8, 3, 4, 3, 3, 2, 2, Padding::Same),     // stride 2, 0 before, 1 after on both axes
      window(2, 8, 7, 3, 4, 4, 4, 2, 2, Padding::Same),     // rows 1/1, columns 1 before 2 after
      window(3, 10, 9, 5, 6, 2, 3, 1, 2, Padding::Same),    // non-square kernel and strides, rows 0/1
      window(2, 9, 7, 4, 3, 3, 1, 1, 2, Padding::Same),     // 3x1 kernel
      window(4, 12, 12, 16, 32, 3, 3, 2, 2, Padding::Same), // many channels, stride 2, 0/1
      window(2, 9, 9, 3, 5, 1, 1, 2, 2, Padding::Valid),    // 1x1 stride 2
      window(2, 7, 7, 2, 3, 7, 7, 1, 1, Padding::Valid),    // kernel = image: one output pixel
      window(2, 3, 3, 2, 3, 5, 5, 1, 1, Padding::Same),     // kernel larger than the image
  };
  {
    // An empty batch: nothing to compute, and the filter gradient is zero (a sum over no images).
    const WindowParams p = window(0, 8, 8, 3, 4, 3, 3, 1, 1, Padding::Same);
    const size_t wn = (size_t)p.k_h * p.k_w * p.in_c * p.out_c;
    Twin x(C, G, 64), w(C, G, random_vec(wn)), y(C, G, 64), dy(C, G, 64), dx(C, G, 64), dw(C, G, random_vec(wn));
    C->conv2d_forward(p, x.cf(), w.cf(), y.cf());
    G->conv2d_forward(p, x.gf(), w.gf(), y.gf());
    C->conv2d_backward_data(p, dy.cf(), w.cf(), dx.cf());
    G->conv2d_backward_data(p, dy.gf(), w.gf(), dx.gf());
    C->conv2d_backward_filter(p, x.cf(), dy.cf(), dw.cf());
    G->conv2d_backward_filter(p, x.gf(), dy.gf(), dw.gf());
    compare("conv2d_backward_filter, empty batch: zero (cpu)", std::vector<float>(wn, 0.0f), dw.get_cpu(), true);
    compare("conv2d_backward_filter, empty batch: zero (gpu)", std::vector<float>(wn, 0.0f), dw.get_gpu(), true);
  }
  for (const auto& p : convs) {
    const size_t xn = (size_t)p.batch * p.in_h * p.in_w * p.in_c, yn = (size_t)p.batch * p.out_h * p.out_w * p.out_c,
                 wn = (size_t)p.k_h * p.k_w * p.in_c * p.out_c;
    Twin x(C, G, random_vec(xn)), w(C, G, random_vec(wn)), y(C, G, yn * 4), dy(C, G, random_vec(yn)),
        dx(C, G, random_vec(xn)), dw(C, G, random_vec(wn));
    C->conv2d_forward(p, x.cf(), w.cf(), y.cf());
    G->conv2d_forward(p, x.gf(), w.gf(), y.gf());
    y.check("conv2d_forward " + describe(p));
    C->conv2d_backward_data(p, dy.cf(), w.cf(), dx.cf());
    G->conv2d_backward_data(p, dy.gf(), w.gf(), dx.gf());
    dx.check("conv2d_backward_data " + describe(p));
    C->conv2d_backward_filter(p, x.cf(), dy.cf(), dw.cf());
    G->conv2d_backward_filter(p, x.gf(), dy.gf(), dw.gf());
    dw.check("conv2d_backward_filter " + describe(p));
  }
  {
    // Pointers into the middle of a buffer, as evaluate/predict pass data.x() + row0 * x_row:
    // 3 images of 5x5x3 = 225 floats in, so only 4-byte aligned.
    const WindowParams p = window(4, 5, 5, 3, 4, 3, 3, 1, 1, Padding::Same);
    const size_t image = (size_t)p.in_h * p.in_w * p.in_c, off = 3 * image;
    const size_t xn = (size_t)p.batch * image, yn = (size_t)p.batch * p.out_h * p.out_w * p.out_c,
                 wn = (size_t)p.k_h * p.k_w * p.in_c * p.out_c;
    Twin x(C, G, random_vec(off + xn)), w(C, G, random_vec(wn)), y(C, G, yn * 4), dy(C, G, random_vec(yn)),
        dx(C, G, random_vec(off + xn)), dw(C, G, random_vec(wn));
    C->conv2d_forward(p, x.cf() + off, w.cf(), y.cf());
    G->conv2d_forward(p, x.gf() + off, w.gf(), y.gf());
    y.check("conv2d_forward, x at an odd float offset " + describe(p));
    C->conv2d_backward_data(p, dy.cf(), w.cf(), dx.cf() + off);
    G->conv2d_backward_data(p, dy.gf(), w.gf(), dx.gf() + off);
    dx.check("conv2d_backward_data, dx at an odd float offset");
    C->conv2d_backward_filter(p, x.cf() + off, dy.cf(), dw.cf());
    G->conv2d_backward_filter(p, x.gf() + off, dy.gf(), dw.gf());
    dw.check("conv2d_backward_filter, x at an odd float offset");
  }
  // ---- pooling ----------------------------------------------------------------------------------------
  const WindowParams pools[] = {
      window(2, 8, 8, 3, 3, 2, 2, 2, 2, Padding::Valid),
      window(2, 5, 5, 2, 2, 2, 2, 1, 1, Padding::Same),  // the notebook case: 0 before, 1 after
      window(2, 7, 7, 2, 2, 3, 3, 2, 2, Padding::Same),
      window(3, 6, 6, 4, 4, 3, 3, 1, 1, Padding::Same),  // overlapping windows
      window(2, 8, 8, 3, 3, 3, 3, 2, 2, Padding::Same),  // stride 2, 0 before, 1 after
      window(2, 7, 7, 3, 3, 2, 2, 2, 2, Padding::Same),  // 2x2 stride 2 on odd sizes: 0 before, 1 after
      window(2, 9, 6, 5, 5, 3, 2, 2, 1, Padding::Same),  // non-square window and strides
      window(3, 9, 9, 32, 32, 3, 3, 1, 1, Padding::Same),   // 32 channels (the CPU's register path)
      window(2, 9, 9, 16, 16, 4, 4, 2, 2, Padding::Same),   // 16 cells, 1 before, 2 after
      window(2, 9, 9, 2, 2, 2, 2, 3, 3, Padding::Valid),    // stride > window: cells skipped
      window(2, 3, 3, 2, 2, 5, 5, 1, 1, Padding::Same),     // window larger than the image
  };
  const PoolKind kinds[] = {PoolKind::Max, PoolKind::Average};
  for (const auto& p : pools)
    for (PoolKind kind : kinds)
      for (int negative = 0; negative < 2; negative++) {
        // Ties everywhere; the second pass all negative, so a padded cell taken as 0 would win a max.
        const std::string kn =
            std::string(kind == PoolKind::Max ? "max" : "avg") + (negative ? " (ties, < 0) " : " (ties) ");
        const size_t xn = (size_t)p.batch * p.in_h * p.in_w * p.in_c,
                     yn = (size_t)p.batch * p.out_h * p.out_w * p.out_c;
        Twin x(C, G, negative ? negative_vec(xn) : coarse_vec(xn)), y(C, G, yn * 4), dy(C, G, random_vec(yn)),
            dx(C, G, random_vec(xn));
        C->pool_forward(kind, p, x.cf(), y.cf());
        G->pool_forward(kind, p, x.gf(), y.gf());
        y.check("pool_forward " + kn + describe(p), kind == PoolKind::Max);
        C->pool_backward(kind, p, x.cf(), y.cf(), dy.cf(), dx.cf());
        G->pool_backward(kind, p, x.gf(), y.gf(), dy.gf(), dx.gf());
        dx.check("pool_backward " + kn + describe(p), true);  // gathered in the CPU's order: bit for bit
      }
  // ---- dropout, multiply, sgd, non-finite ----------------------------------------------------------------
  {
    const size_t n = 100003;
    Twin x(C, G, random_vec(n)), y(C, G, n * 4), mask(C, G, n * 4), out(C, G, n * 4);
    C->dropout_forward(x.cf(), y.cf(), mask.cf(), n, 0.3f, 0x1234567890abcdefull);
    G->dropout_forward(x.gf(), y.gf(), mask.gf(), n, 0.3f, 0x1234567890abcdefull);
    mask.check("dropout mask", true);
    y.check("dropout output", true);
    C->multiply(x.cf(), mask.cf(), out.cf(), n);
    G->multiply(x.gf(), mask.gf(), out.gf(), n);
    out.check("multiply", true);
  }
  {
    // Past the launchers' grid cap (65536 blocks of 256): the grid-stride loops.
    const size_t n = (size_t)65536 * 256 + 4099;
    Twin x(C, G, random_vec(n)), y(C, G, n * 4), mask(C, G, n * 4);
    C->dropout_forward(x.cf(), y.cf(), mask.cf(), n, 0.5f, 977);
    G->dropout_forward(x.gf(), y.gf(), mask.gf(), n, 0.5f, 977);
    mask.check("dropout mask, n past the grid cap", true);
    C->fill(y.cf() + 1, 2.5f, n - 1);
    G->fill(y.gf() + 1, 2.5f, n - 1);
    y.check("fill, n past the grid cap", true);
    const float inf = INFINITY;
    C->upload(y.cf() + n - 1, &inf, sizeof inf);
    G->upload(y.gf() + n - 1, &inf, sizeof inf);
    const bool c = C->has_non_finite(y.cf(), n), g = G->has_non_finite(y.gf(), n);
    const bool c0 = C->has_non_finite(y.cf(), n - 1), g0 = G->has_non_finite(y.gf(), n - 1);
    report("has_non_finite, +inf in the last of n past the grid cap", c && g && !c0 && !g0,
           std::to_string(g) + std::to_string(g0));
  }
  for (int variant = 0; variant < 3; variant++) {
    const size_t n = 5000;
    Twin w(C, G, random_vec(n)), g(C, G, random_vec(n)), v(C, G, random_vec(n, -0.1f, 0.1f));
    const float momentum = variant == 0 ? 0.0f : 0.9f;
    for (int step = 0; step < 3; step++) {
      C->sgd_update(w.cf(), g.cf(), v.cf(), n, 0.01f, momentum, variant == 2);
      G->sgd_update(w.gf(), g.gf(), v.gf(), n, 0.01f, momentum, variant == 2);
    }
    const char* names[] = {"sgd plain", "sgd momentum", "sgd nesterov"};
    w.check(std::string(names[variant]) + " weights (3 steps)", true);
    if (variant) v.check(std::string(names[variant]) + " velocity", true);
  }
  for (int variant = 0; variant < 3; variant++) {
    // sgd_update_all: 40 tensors (two launches of up to 32 on CUDA), one empty, sizes 1..~3000.
    const int count = 40;
    std::vector<std::unique_ptr<Twin>> ws, gs, vs;
    std::vector<SgdTensor> tc, tg;
    for (int i = 0; i < count; i++) {
      const size_t n = i == 7 ? 0 : 1 + (size_t)g_rng.below(3000);
      ws.push_back(std::make_unique<Twin>(C, G, random_vec(n)));
      gs.push_back(std::make_unique<Twin>(C, G, random_vec(n)));
      vs.push_back(std::make_unique<Twin>(C, G, random_vec(n, -0.1f, 0.1f)));
      tc.push_back({ws[i]->cf(), gs[i]->cf(), vs[i]->cf(), n});
      tg.push_back({ws[i]->gf(), gs[i]->gf(), vs[i]->gf(), n});
    }
    const float momentum = variant == 0 ? 0.0f : 0.9f;
    for (int step = 0; step < 3; step++) {
      C->sgd_update_all(tc.data(), count, 0.01f, momentum, variant == 2);
      G->sgd_update_all(tg.data(), count, 0.01f, momentum, variant == 2);
    }
    std::vector<float> wc, wg, vc, vg;
    for (int i = 0; i < count; i++) {
      auto a = ws[i]->get_cpu(), b = ws[i]->get_gpu(), c = vs[i]->get_cpu(), d = vs[i]->get_gpu();
      wc.insert(wc.end(), a.begin(), a.end());
      wg.insert(wg.end(), b.begin(), b.end());
      vc.insert(vc.end(), c.begin(), c.end());
      vg.insert(vg.end(), d.begin(), d.end());
    }
    const char* names[] = {"sgd_update_all plain", "sgd_update_all momentum", "sgd_update_all nesterov"};
    compare(std::string(names[variant]) + ": 40 tensors' weights (3 steps)", wc, wg, true);
    compare(std::string(names[variant]) + ": velocities", vc, vg, true);
  }
  {
    const size_t n = 300000;
    auto v = random_vec(n);
    Twin x(C, G, v);
    bool c0 = C->has_non_finite(x.cf(), n), g0 = G->has_non_finite(x.gf(), n);
    v[n - 5] = NAN;
    x.set(v);
    bool c1 = C->has_non_finite(x.cf(), n), g1 = G->has_non_finite(x.gf(), n);
    v[n - 5] = 1.0f;
    v[17] = -INFINITY;
    x.set(v);
    bool c2 = C->has_non_finite(x.cf(), n), g2 = G->has_non_finite(x.gf(), n);
    report("has_non_finite (finite, NaN, -inf)", !c0 && !g0 && c1 && g1 && c2 && g2,
           std::to_string(g0) + std::to_string(g1) + std::to_string(g2));
  }
  model_tests(C, G);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::string(argv[1]) == "--cpu-vs-cpu") {
    // Checks the test itself without a GPU: two CPU backends must agree bitwise everywhere.
    CpuBackend a(2), b(3);
    try {
      run_all(&a, &b);
    } catch (const std::exception& e) {
      report("exception", false, e.what());
    }
    std::printf("%d passed, %d failed\n", g_passed, g_failed);
    return g_failed ? 1 : 0;
  }
  std::string path;
  if (argc > 1) {
    path = argv[1];
  } else {
    std::string self = argv[0];
    auto slash = self.rfind('/');
    path = (slash == std::string::npos ? std::string(".") : self.substr(0, slash)) + "/libxarxa_cuda.so";
  }
  void* lib = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    std::printf("cannot open %s: %s\n", path.c_str(), dlerror());
    return 2;
  }
  auto abi = reinterpret_cast<xarxa_cuda_abi_fn>(dlsym(lib, "xarxa_cuda_abi"));
  auto count = reinterpret_cast<xarxa_cuda_device_count_fn>(dlsym(lib, "xarxa_cuda_device_count"));
  auto create = reinterpret_cast<xarxa_cuda_create_fn>(dlsym(lib, "xarxa_cuda_create"));
  auto release = reinterpret_cast<xarxa_cuda_release_cache_fn>(dlsym(lib, "xarxa_cuda_release_cache"));
  if (!abi || !count || !create || abi() != XARXA_CUDA_PLUGIN_ABI) {
    std::printf("%s is not a matching xarxa CUDA library\n", path.c_str());
    return 2;
  }
  char message[512] = {0};
  const int devices = count(message, sizeof message);
  std::printf("library %s: abi %d, %d device(s) %s\n", path.c_str(), abi(), devices, message);
  if (devices <= 0) return 2;

  auto t0 = std::chrono::steady_clock::now();
  std::unique_ptr<Backend> gpu(create(0, message, sizeof message));
  if (!gpu) {
    std::printf("create failed: %s\n", message);
    return 2;
  }
  auto t1 = std::chrono::steady_clock::now();
  CpuBackend cpu(4);
  g_release = release;
  DeviceInfo d = gpu->info();
  std::printf("device %s (sm_%d%d), memory %.1f/%.1f GiB free, runtime %d, driver %d, cuBLAS %d, cuDNN %d, %s; "
              "backend created in %.0f ms\n",
              d.name.c_str(), d.compute_major, d.compute_minor, d.free_memory / 1073741824.0,
              d.total_memory / 1073741824.0, d.cuda_runtime_version, d.cuda_driver_version, d.cublas_version,
              d.cudnn_version, d.gemm.c_str(), std::chrono::duration<double, std::milli>(t1 - t0).count());

  try {
    run_all(&cpu, gpu.get());
  } catch (const std::exception& e) {
    report("exception", false, e.what());
  }
  report("bytes_in_use back to 0 (cpu, cuda)", cpu.bytes_in_use() == 0 && gpu->bytes_in_use() == 0,
         std::to_string(cpu.bytes_in_use()) + ", " + std::to_string(gpu->bytes_in_use()));
  if (release) std::printf("release_cache gave back %zu bytes\n", release(gpu.get()));
  // An error path: a bad window must throw xarxa::Error (caught across the library boundary).
  // (It has output cells: a window with none is an empty batch, which writes nothing.)
  try {
    WindowParams bad;
    bad.batch = bad.out_h = bad.out_w = bad.out_c = 1;  // but no input image and no kernel
    gpu->conv2d_forward(bad, nullptr, nullptr, nullptr);
    report("invalid conv window throws", false, "no exception");
  } catch (const Error& e) {
    report("invalid conv window throws xarxa::Error", true, e.what());
  } catch (const std::exception& e) {
    report("invalid conv window throws xarxa::Error", false, std::string("other exception: ") + e.what());
  }
  gpu.reset();
  std::printf("%d passed, %d failed\n", g_passed, g_failed);
  return g_failed ? 1 : 0;
}
