"""Starting, resuming and replaying a company run: settings, store, model, and the final report."""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import typer

from agentco.cli.common import err_console, exit_code_for, settings_from_cli
from agentco.config import Settings
from agentco.errors import AgentcoError, BudgetExceeded, ConfigError


@dataclass
class Session:
    settings: Settings
    options: dict[str, Any]
    store: Any
    run_id: str
    quiet: bool = False
    replay_of: str | None = None
    resuming: bool = False
    previous_wall_s: float = 0.0
    previous_project: Path | None = None
    console: Any = field(default_factory=err_console)

    # --- construction ---------------------------------------------------------------------
    @classmethod
    def start(cls, options: dict[str, Any], *, quiet: bool = False, replay: str | None = None) -> Session:
        from agentco.store import RunStore

        settings = _settings(options)
        store = RunStore.open(settings.workspace)
        if replay is not None:
            source = store.get_run(replay)
            if source is None:
                raise ConfigError(f"no run {replay} in {settings.workspace} to replay")
            stored = dict(source.options)
            options = {
                **stored,
                "project_name": options.get("project_name") or f"{_project_name(source)}_replay",
                "idea": source.idea,
                "investment": None,
            }
        run_id = store.new_run_id()
        store.create_run(run_id, options["idea"], "", options)
        return cls(settings, options, store, run_id, quiet, replay_of=replay)

    @classmethod
    def resume(
        cls,
        run_id: str | None,
        *,
        recover_path: Path | None,
        investment: float | None,
        workspace: Path | None,
        quiet: bool,
    ) -> Session:
        from agentco.store import RunStore, find_store

        base = settings_from_cli(workspace=workspace)
        if recover_path is not None:
            store = RunStore.open(recover_path.resolve().parent)
            record = store.find_run_by_project(recover_path)
            if record is None:
                raise ConfigError(f"no agentco run recorded for {recover_path}")
        else:
            found = find_store(run_id, [base.workspace, Path("workspace")])
            if found is None:
                raise ConfigError(f"no run {run_id} found (looked in {base.workspace}); try --workspace")
            store = RunStore.open(found)
            record = store.get_run(run_id)
        if record.status == "completed":
            err_console().print(f"run {record.id} is already completed: {record.project_path}")
            raise typer.Exit(0)
        options = dict(record.options)
        if investment is not None:
            options["investment"] = investment
            store.update_run(record.id, options=options)
        options["workspace"] = str(store.path.parent.parent)
        project = Path(record.project_path) if record.project_path else None
        return cls(
            _settings(options),
            options,
            store,
            record.id,
            quiet,
            resuming=True,
            previous_wall_s=record.wall_s or 0.0,
            previous_project=project,
        )

    # --- running --------------------------------------------------------------------------
    def execute(self) -> None:
        """Run (or resume) the company while holding the run, so no second process can work on it
        and ``runs list`` can tell a killed run from a running one."""
        from agentco.store import RunBusy

        try:
            with self.store.claim(self.run_id):
                self._execute()
        except RunBusy as exc:
            self.store.close()
            raise ConfigError(f"{exc}; wait for it to finish, or stop it first") from None

    def _execute(self) -> None:
        from agentco.company.run import run_company

        try:
            llm, llm_for = self._models()
        except AgentcoError as exc:
            # The run is recorded already; without this it would read 'running' for ever.
            self.store.update_run(self.run_id, status="failed", error=str(exc))
            self.store.close()
            raise
        self.console.print(f"[bold]run {self.run_id}[/] with {llm.ref}" + (" (resuming)" if self.resuming else ""))
        try:
            outcome = asyncio.run(
                run_company(
                    self.options["idea"],
                    self._company_options(llm),
                    llm,
                    llm_for=llm_for,
                    role_kwargs=self._role_kwargs(),
                    store=self.store,
                    run_id=self.run_id,
                    previous_wall_s=self.previous_wall_s,
                    n_round=self.options.get("n_round") or 20,
                )
            )
        except KeyboardInterrupt:
            self.console.print(
                f"\n[yellow]Interrupted; the run is saved.[/] Continue it with: [bold]agentco resume {self.run_id}[/]"
            )
            sys.exit(130)
        except BudgetExceeded as exc:
            self.console.print(
                f"[bold red]stopped:[/] {exc}\nThe run is saved; continue it with: "
                f"[bold]agentco resume {self.run_id} --investment AMOUNT[/]"
            )
            sys.exit(exit_code_for(exc))
        except AgentcoError as exc:
            self.console.print(
                f"[bold red]error:[/] {exc}\nThe run is saved; after fixing the cause, continue it "
                f"with: [bold]agentco resume {self.run_id}[/]"
            )
            sys.exit(exit_code_for(exc))
        finally:
            self.store.close()
        _print_outcome(outcome, self.run_id)
        if outcome.status == "failed":
            sys.exit(1)

    def _models(self) -> tuple[Any, Any]:
        from agentco.cli.live import LiveView
        from agentco.cost import Meter
        from agentco.llm.client import LLMClient
        from agentco.llm.registry import create_provider, resolve_model
        from agentco.llm.retry import RetryPolicy

        s = self.settings
        ref, notice = resolve_model(s.llm)
        if notice and not self.replay_of:
            self.console.print(f"[yellow]{notice}[/]")
        if self.replay_of:
            from agentco.llm.replay import ReplayProvider

            provider: Any = ReplayProvider(_stored_ref(self.store, self.replay_of) or ref, self.replay_of)
            cache = self.store.call_cache(self.replay_of)
        else:
            provider = create_provider(ref, s.llm, models_dir=s.models_dir.expanduser())
            cache = self.store.call_cache(self.run_id)
            if hasattr(provider, "ensure_ready"):  # fetch and load the local model outside any call timeout
                provider.ensure_ready()
        meter = Meter(max_budget=s.max_budget, max_tokens=s.max_tokens, custom_prices=dict(s.prices))
        view = LiveView(self.console, stream=not self.quiet)
        timeout = s.llm.timeout or (900.0 if ref.provider == "local" else 120.0)
        llm = LLMClient(provider, meter, RetryPolicy(max_retries=s.llm.max_retries), timeout, cache, view)

        def llm_for(role: str) -> Any:
            if role not in s.roles or self.replay_of:
                return None
            role_settings = s.llm_for(role)
            role_ref = resolve_model(role_settings)[0]
            return llm.with_provider(create_provider(role_ref, role_settings, models_dir=s.models_dir.expanduser()))

        return llm, llm_for

    def _company_options(self, llm: Any) -> Any:
        from agentco.company.workshop import CompanyOptions

        s, o = self.settings, self.options
        parallel = s.max_parallel_files or (1 if llm.ref.provider in {"local", "fake"} else 4)
        replaceable = self.previous_project if self.resuming else None
        if self.replay_of:
            replaceable = (s.workspace / o["project_name"]).resolve()
        return CompanyOptions(
            workspace=s.workspace,
            project_name=o.get("project_name"),
            code_review=o.get("code_review", True),
            run_tests=o.get("run_tests", True),
            implement=o.get("implement", True),
            fix_rounds=s.fix_rounds,
            max_parallel_files=parallel,
            replace_project=replaceable,
            resuming=self.resuming,
        )

    def _role_kwargs(self) -> dict[str, Any]:
        s = self.settings
        return {
            "output_attempts": s.output_attempts,
            "repair_output": s.repair_llm_output,
            "temperature": s.llm.temperature,
            "max_tokens": s.llm.max_token,
        }


def _settings(options: dict[str, Any]) -> Settings:
    return settings_from_cli(
        model=options.get("model"), max_budget=options.get("investment"), workspace=options.get("workspace")
    )


def _project_name(record: Any) -> str:
    return Path(record.project_path).name if record.project_path else "project"


def _stored_ref(store: Any, run_id: str) -> Any:
    from agentco.llm.base import parse_model_string

    model = store.first_call_model(run_id)
    return parse_model_string(model) if model else None


def _print_outcome(outcome: Any, run_id: str) -> None:
    from rich.console import Console
    from rich.table import Table

    s = outcome.summary
    table = Table(title=f"run {run_id}: {s['status']}", show_header=False)
    table.add_row("project", str(outcome.project))
    if s["tests_passed"] is not None:
        table.add_row("tests", f"{s['tests_passed']} passed, {s['tests_failed']} failed")
    table.add_row("model calls", f"{s['llm_calls']} ({s['replayed_calls']} replayed)")
    table.add_row("tokens", f"{s['prompt_tokens']} prompt + {s['completion_tokens']} completion")
    table.add_row("cost", f"${s['cost_usd']:.4f}")
    table.add_row("wall time", f"{s['wall_s']:.1f} s")
    for note in outcome.notes:
        table.add_row("note", note)
    Console().print(table)
