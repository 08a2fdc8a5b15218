// report.html (zoo/report/report.h) and the data it draws (zoo/report/run_data.h), from run
// directories written by hand: lines of metrics.jsonl that are cut short or edited are left
// out instead of aborting the run, resumes, warnings and ProGAN's phases become markers, 2-D
// samples come with the data's modes, and nothing in a run directory can end the page's script
// early. That the page draws in a browser is tests/tools/report_browser.sh.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "engine/ops.h"
#include "test_util.h"
#include "zoo/report/images.h"
#include "zoo/report/report.h"
#include "zoo/report/run_data.h"

using namespace zg;
namespace fs = std::filesystem;
using Json = nlohmann::json;

namespace {

std::string read_text(const std::string& path) {
    std::ifstream in(path);
    return std::string((std::istreambuf_iterator<char>(in)), {});
}

size_t count(const std::string& text, const std::string& what) {
    size_t n = 0;
    for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
}

}  // namespace

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
    const Json run = zoo::read_run_data(d.path.string(), false);
    CHECK(run.at("series").at("loss_d") == Json::parse("[[1,1.5],[2,1.2]]"));
    CHECK(run.at("series").at("loss_g") == Json::parse("[[1,0.7],[2,0.9]]"));
    REQUIRE(run.at("warnings").size() == 1);  // step 3's line, its odd fields left blank
    CHECK(run.at("warnings")[0] == Json::parse(R"({"step":3,"warning":"","message":""})"));
    CHECK(run.at("last").at("step") == 2);
    REQUIRE_NOTHROW(zoo::write_report(d.path.string()));
    CHECK(read_text(d / "report.html").find("\"loss_d\":[[1,1.5],[2,1.2]]") != std::string::npos);
}

TEST_CASE("report: the real images are kept apart from the grids over time") {
    testing::TempDir d;
    fs::create_directories(d / "samples");
    for (const char* f : {"samples/real.png", "samples/step_000010.png", "samples/step_000002.png",
                          "samples/step_x.png"})
        std::ofstream(d / f) << "x";
    std::ofstream(d / "metrics.jsonl") << "{\"step\":10,\"loss_d\":1}\n";
    const Json run = zoo::read_run_data(d.path.string(), false);
    CHECK(run.at("real") == "samples/real.png");
    CHECK(run.at("grids") == Json::parse(R"([{"step":2,"src":"samples/step_000002.png"},
                                             {"step":10,"src":"samples/step_000010.png"}])"));
}

TEST_CASE("report: resumes and ProGAN's phase changes are listed for the markers") {
    testing::TempDir d;
    std::ofstream(d / "metrics.jsonl")
        << R"({"step":1,"loss_d":1,"resolution":4,"alpha":1,"kimg":0.1})"
        << "\n"
        << R"({"step":2,"loss_d":1,"resolution":8,"alpha":0.5,"kimg":0.2})"
        << "\n"
        << R"({"resumed":true,"step":2,"time_s":1})"
        << "\n"
        << R"({"resumed":true,"step":2,"time_s":1})"
        << "\n"  // killed again before a save
        << R"({"step":3,"loss_d":1,"resolution":8,"alpha":1,"kimg":0.3})"
        << "\n"
        << R"({"step":4,"loss_d":1,"resolution":8,"alpha":1,"kimg":0.4})"
        << "\n"
        << R"({"step":4,"budget_reached":true})"
        << "\n";
    const Json run = zoo::read_run_data(d.path.string(), true);
    CHECK(run.at("resumes") == Json::parse("[2]"));
    CHECK(run.at("phases") == Json::parse(R"([
        {"step":1,"kimg":0.1,"resolution":4,"fading":false},
        {"step":2,"kimg":0.2,"resolution":8,"fading":true},
        {"step":3,"kimg":0.3,"resolution":8,"fading":false}])"));
    CHECK(run.at("series").at("loss_d").size() == 4);  // the marker lines are not points
    CHECK(run.at("live") == true);
    CHECK(run.at("written_at").get<double>() > 1.7e9);  // seconds since 1970, now
}

TEST_CASE("report: 2-D samples are shown with the data's modes, a cut array left out") {
    testing::TempDir d;
    fs::create_directories(d / "samples");
    std::ofstream(d / "config.json") << R"({"model":"mlpgan","data":"ring8"})";
    zoo::save_npy(from_vector(std::vector<float>{0.5f, -1, 2, 3}, {2, 2}),
                  d / "samples/step_000005.npy");
    std::ofstream(d / "samples/step_000010.npy") << "\x93NUMPY";  // what a kill left
    const Json run = zoo::read_run_data(d.path.string(), false);
    CHECK(run.at("points") == Json::parse(R"([{"step":5,"xy":[[0.5,-1],[2,3]]}])"));
    REQUIRE(run.at("modes").size() == 8);
    CHECK(run.at("modes")[0][0].get<double>() == doctest::Approx(2));
    CHECK(run.at("modes")[0][1].get<double>() == doctest::Approx(0).epsilon(1e-12));
}

TEST_CASE("report: a </script> in the run's files cannot end the page's data early") {
    testing::TempDir d;
    std::ofstream(d / "config.json")
        << R"js({"model":"dcgan","data":"</script><script>alert(1)"})js";
    std::ofstream(d / "metrics.jsonl") << R"({"step":1,"warning":"<!--","message":"</script>"})"
                                       << "\n";
    zoo::write_report(d.path.string());
    const std::string html = read_text(d / "report.html");
    // The run's data, Chart.js, the status helper and the page's own script: four elements,
    // closed once each.
    CHECK(count(html, "</script>") == 4);
    CHECK(count(html, "<!--") == 0);
    CHECK(html.find(R"js(\u003c/script>\u003cscript>alert(1))js") != std::string::npos);
}

TEST_CASE("report: the page carries Chart.js and its script, and names the run") {
    testing::TempDir d("zg_report_name");
    std::ofstream(d / "config.json") << R"({"model":"progan"})";
    zoo::write_report(d.path.string() + "/");
    const std::string html = read_text(d / "report.html");
    CHECK(html.find("Chart.js v") != std::string::npos);       // the library's own header
    CHECK(html.find("zoograd-report:") != std::string::npos);  // the page script's view key
    CHECK(html.find("<title>zoograd run " + d.path.filename().string() + "</title>") !=
          std::string::npos);
    CHECK(html.find("progan · ") != std::string::npos);
}
