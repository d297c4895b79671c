// ctest: the CPU engine's GEMM scratch (whole-B packs, K-split partials) belongs to the engine, not
// to the threads that call it. The addon runs each call on whichever libuv thread is free, so with
// thread_local scratch a run held one copy per thread that ever ran a step; the engine installs its
// own for each call (GemmScratchScope), and the calling threads' own scratch stays empty. Steps
// from two threads in turn also train the same as steps from one.
#include <cstdio>
#include <thread>
#include <vector>

#include "engine.h"
#include "ops/matmul.h"
#include "test_options.h"
#include "test_util.h"
#include "tiny_model.h"

using namespace loralab;

int main() {
  const std::string model = tiny::write_model(make_temp_dir("engine-scratch-model"), tiny::Spec{});
  EngineOptions o = test_engine_options();
  o.threads = 2;
  // 4 x 64 = 256 rows: the block linears take the whole-B packed path (>= 192 rows)
  auto batch = [](int s) { return tiny::make_batch(4, 64, 64, 500 + s, {}, s); };
  std::vector<double> alternating, one_thread;
  {
    auto e = Engine::load(model, o);
    for (int s = 0; s < 4; ++s) {
      size_t own_floats = 1;
      std::thread t([&] {
        alternating.push_back(e->step({batch(s)}).loss);
        const GemmScratch& own = thread_gemm_scratch();
        own_floats = own.packed.capacity() + own.partial.capacity();
      });
      t.join();
      std::printf("  step %d on a new thread: loss %.6f, that thread's own GEMM scratch %zu floats\n", s, alternating.back(), own_floats);
      CHECK(own_floats == 0);
    }
  }
  {
    auto e = Engine::load(model, o);
    for (int s = 0; s < 4; ++s) one_thread.push_back(e->step({batch(s)}).loss);
  }
  CHECK(alternating == one_thread);
  // without an engine call in between, a product on this thread uses (and keeps) the thread's own
  std::vector<float> A(256 * 32, 0.5f), B(64 * 32, 0.25f), C(256 * 64);
  matmul_nt(nullptr, C.data(), A.data(), f32_view(B.data()), 256, 64, 32, false);
  CHECK(thread_gemm_scratch().packed.size() >= 64 * 32);
  return test_summary("test_engine_scratch");
}
