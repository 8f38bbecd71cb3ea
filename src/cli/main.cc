// fhir-migrate: copy a FHIR R4 data store from one server to another, first in
// bulk, then continuously, and prove nothing was lost.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "base/strings.h"
#include "cli/commands.h"
#include "cli/exit_codes.h"

#ifndef FM_VERSION
#define FM_VERSION "unknown"
#endif

namespace {

// The first word that is neither an option nor an option's value: the
// subcommand the user meant ("" when there is none).
std::string CommandWord(int argc, char** argv, const std::vector<std::string>& with_value) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--") return i + 1 < argc ? argv[i + 1] : "";
    if (!arg.empty() && arg[0] == '-') {
      bool takes_value = false;
      for (const auto& o : with_value) takes_value |= arg == o;
      if (takes_value) ++i;
      continue;
    }
    return arg;
  }
  return "";
}

}  // namespace

int main(int argc, char** argv) {
  using namespace fm::cli;
  CLI::App app{"fhir-migrate: copy a FHIR R4 data store between servers and prove nothing was lost",
               "fhir-migrate"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("fhir-migrate ") + FM_VERSION);
  Context ctx;
  for (int i = 0; i < argc; ++i) {
    ctx.command_line += (i ? " " : "") + std::string(i == 0 ? "fhir-migrate" : argv[i]);
  }
  std::string config_file;
  app.add_option("-c,--config", config_file,
                 "TOML config file (default: ./fhir-migrate.toml when it exists)")
      ->check(CLI::ExistingFile);
  app.add_option("-o,--set", ctx.sources.overrides, "override a config key: -o section.key=value")
      ->type_name("KEY=VALUE");

  std::string init_path = "fhir-migrate.toml";
  bool force = false;
  auto* init = app.add_subcommand("init", "write a commented example config");
  init->add_option("path", init_path, "where to write it");
  init->add_flag("--force", force, "overwrite an existing file");
  bool reference = false;
  init->add_flag("--reference", reference, "print the configuration reference (Markdown) instead");

  auto* check = app.add_subcommand("check", "reach both servers, show capabilities and the plan");

  bool once = false, follow = false;
  auto* run = app.add_subcommand("run", "migrate: catch up (--once, default) or keep following");
  run->add_flag("--once", once, "catch up, then stop (default)");
  run->add_flag("--follow", follow, "catch up, then plan new windows every poll_interval");
  run->add_option("--http", ctx.http_listen,
                  "serve /metrics, /status.json, /healthz and the dashboard on HOST:PORT "
                  "(port 0: any free port; the bound address is printed on stderr)")
      ->type_name("HOST:PORT");
  run->add_option("--progress", ctx.progress,
                  "terminal progress: auto (bars on a TTY, a summary line every 10s otherwise), "
                  "bars, plain, none")
      ->check(CLI::IsMember({"auto", "bars", "plain", "none"}));

  bool json = false;
  auto* status = app.add_subcommand("status", "show progress, lag, failures and the last check");
  status->add_flag("--json", json, "machine-readable output");

  size_t limit = 100;
  auto* failures = app.add_subcommand("failures", "inspect resources the destination refused");
  failures->require_subcommand(1);
  auto* failures_list = failures->add_subcommand("list", "list unresolved failures");
  failures_list->add_option("--limit", limit, "at most this many");
  bool include_resolved = false;
  failures_list->add_flag("--all", include_resolved,
                          "also resolved failures, each with its history of attempts");
  failures_list->add_flag("--json", json, "machine-readable output");
  FailuresRetryFlags fr;
  auto* failures_retry = failures->add_subcommand(
      "retry",
      "read each failed resource's current version from the source and send it again; "
      "resolved when the destination accepts it");
  failures_retry->add_option("--type", fr.type, "only failures of this resource type");
  failures_retry->add_option("--id", fr.id, "only failures of this resource id");
  failures_retry->add_flag("--all", fr.all, "every unresolved failure");
  failures_retry->add_flag("--json", json, "machine-readable output");

  int64_t retry_window = 0;
  auto* clear_halt = app.add_subcommand("clear-halt", "resume a halted migration");
  clear_halt->add_option("--retry-window", retry_window,
                         "also reset the attempts of this window id");
  auto* retry = app.add_subcommand("retry", "give a failed window a fresh set of attempts (and clear a halt)");
  retry->add_option("--window", retry_window, "window id (see `status`)")->required();

  VerifyFlags vf;
  auto* verify = app.add_subcommand("verify", "compare source and destination");
  verify->add_flag("--surface", vf.surface, "per-type counts on both sides (default)");
  verify->add_option("--deep", vf.deep, "compare a seeded random sample of N resources per type")
      ->check(CLI::Range(1, 1000000));
  auto* full = verify->add_flag("--full", vf.full, "compare every resource by content hash");
  auto* fix = verify
                  ->add_flag("--fix", vf.fix,
                             "with --full: copy what is missing or different on the "
                             "destination from the source")
                  ->needs(full);
  auto* fix_deletes = verify
                          ->add_flag("--fix-deletes", vf.fix_deletes,
                                     "with --full: list destination-only resources (dry run "
                                     "unless --apply)")
                          ->needs(full);
  auto* apply =
      verify->add_flag("--apply", vf.apply, "with --fix-deletes: delete them on the destination")
          ->needs(fix_deletes);
  verify
      ->add_flag("--dry-run", vf.dry_run,
                 "with --fix or --fix-deletes: list what would change, change nothing")
      ->excludes(apply);
  (void)fix;
  auto* seed = verify->add_option("--seed", vf.seed, "sample seed of --deep (default fixed)");
  auto* bw = verify->add_flag("--before-watermark", vf.before_watermark,
                              "only resources with lastUpdated before the state's watermark "
                              "(default when a watermark exists)");
  verify->add_flag("--no-before-watermark", vf.no_before_watermark, "compare everything")
      ->excludes(bw);
  verify->add_option("--before", vf.before, "only resources with lastUpdated before this instant");
  verify->add_flag("--json", json, "machine-readable output");

  // An unknown subcommand: say which exist (and the nearest one).
  std::vector<std::string> commands;
  for (const auto* sub : app.get_subcommands([](CLI::App*) { return true; })) {
    commands.push_back(sub->get_name());
  }
  std::string word = CommandWord(argc, argv, {"-c", "--config", "-o", "--set"});
  if (!word.empty() && std::find(commands.begin(), commands.end(), word) == commands.end()) {
    std::string nearest = fm::base::Nearest(word, commands);
    std::fprintf(stderr, "fhir-migrate: unknown command '%s'%s; the commands are: %s\n",
                 word.c_str(),
                 nearest.empty() ? "" : (" (did you mean '" + nearest + "'?)").c_str(),
                 fm::base::Join(commands, ", ").c_str());
    return kExitUsage;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? kExitOk : kExitUsage;
  }
  if (once && follow) {
    std::fprintf(stderr, "fhir-migrate: --once and --follow exclude each other\n");
    return kExitUsage;
  }
  if (!config_file.empty()) ctx.sources.file = config_file;
  ctx.sources.discover = true;  // ./fhir-migrate.toml without -c
  ctx.format = json ? "json" : "text";

  if (*init && reference) {
    std::fputs(ConfigReferenceMarkdown().c_str(), stdout);
    return kExitOk;
  }
  if (*init) return CmdInit(init_path, force);
  if (*check) return CmdCheck(ctx);
  if (*run) return CmdRun(ctx, follow);
  if (*status) return CmdStatus(ctx);
  if (*failures_list) return CmdFailuresList(ctx, limit, include_resolved);
  if (*failures_retry) return CmdFailuresRetry(ctx, fr);
  if (*clear_halt) return CmdClearHalt(ctx, retry_window, /*retry_command=*/false);
  if (*retry) return CmdClearHalt(ctx, retry_window, /*retry_command=*/true);
  if (*verify) {
    vf.seed_set = seed->count() > 0;
    return CmdVerify(ctx, vf);
  }
  return kExitUsage;
}
