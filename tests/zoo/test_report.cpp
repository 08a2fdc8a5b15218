// report.html (zoo/report/report.h) from a run directory written by hand: lines of metrics.jsonl
// that are cut short or edited are left out of the page instead of aborting the run, and the
// real images and the step grids are shown apart.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "test_util.h"
#include "zoo/report/report.h"

using namespace zg;
namespace fs = std::filesystem;

TEST_CASE("report: malformed metrics lines are skipped, the good ones drawn") {
    testing::TempDir d;
    std::ofstream(d / "metrics.jsonl")
        << "{\"step\":1,\"loss_d\":1.5,\"loss_g\":0.7}\n"
        << "[1,2]\n"
        << "{\"step\":null,\"loss_d\":3}\n"
        << "{\"step\":3,\"warning\":5,\"message\":[]}\n"
        << "{\"step\":2,\"loss_d\":1.2,\"loss_g\":0.9}\n"
        << "{\"step\":4,\"loss_d\":1.1,\"lo";  // cut mid-line, as a killed process leaves it
    std::ofstream(d / "config.json") << "{}";
    REQUIRE_NOTHROW(zoo::write_report(d.path.string()));
    std::ifstream in(d / "report.html");
    const std::string html((std::istreambuf_iterator<char>(in)), {});
    CHECK(html.find("<svg") != std::string::npos);
    CHECK(html.find("loss_d") != std::string::npos);
    CHECK(html.find("Health warnings") != std::string::npos);  // step 3's line, text left out
}

TEST_CASE("report: the real images are shown apart from the grids over time") {
    testing::TempDir d;
    fs::create_directories(d / "samples");
    for (const char* f : {"samples/real.png", "samples/step_000010.png"})
        std::ofstream(d / f) << "x";
    std::ofstream(d / "metrics.jsonl") << "{\"step\":10,\"loss_d\":1}\n";
    zoo::write_report(d.path.string());
    std::ifstream in(d / "report.html");
    const std::string html((std::istreambuf_iterator<char>(in)), {});
    const size_t real = html.find("<h2>Real images</h2><img src='samples/real.png'");
    const size_t grids = html.find("<h2>Samples (fixed z)</h2>");
    REQUIRE(real != std::string::npos);
    REQUIRE(grids != std::string::npos);
    CHECK(real < grids);
    CHECK(html.find("samples/real.png", grids) == std::string::npos);  // not among the grids
    CHECK(html.find("samples/step_000010.png", grids) != std::string::npos);
}
