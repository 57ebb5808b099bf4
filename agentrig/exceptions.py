"""Every error agentrig raises on purpose, under one base class.

The hierarchy::

    AgentrigError
    ├── ConfigurationError          a URL, option or file that agentrig cannot use
    │   └── MissingExtraError       a backend or adapter whose optional dependency is not installed
    ├── BackendUnavailableError     a store or bus server that cannot be reached (URL, reason)
    ├── StateError                  the state store
    │   ├── VersionConflict         compare-and-set lost: the stored version is not the expected one
    │   ├── CorruptStateError       a stored document is not valid JSON; it is kept, never overwritten
    │   ├── InvalidKeyError         a key that is empty, too long or would escape its namespace
    │   └── NotSerializableError    a value that is not JSON, with the path to the offending part
    ├── BusError                    the message bus
    │   ├── MessageTooLargeError    a message over the bus's size limit, refused at send
    │   └── InvalidMessageError     an entry that is not a valid Message (it goes to the dead letters)
    ├── PlantError                  the simulated plant
    │   ├── ScenarioError           a scenario or layout file that does not validate
    │   └── UnknownDeviceError      a device id the plant does not have
    ├── ModelError                  the model path (endpoints, the reference model)
    │   └── ModelRequestError       a chat request the reference model rejects (an HTTP error status)
    ├── TelemetryError              logs, traces and metrics
    │   └── TraceFileError          a trace file that is missing or not OTLP-JSON lines
    ├── CassetteError               recorded LLM traffic
    │   ├── CassetteMismatchError   a request with no recorded match (cassette drift)
    │   ├── MissingCassetteError    replay asked for a cassette that was never recorded
    │   └── LiveModelRequestError   a live model request where only replay is allowed (tests)
    ├── AdapterError                a framework adapter
    │   ├── AdapterNotFoundError    no adapter registered under that name
    │   └── UnsupportedFrameworkVersionError  an installed framework outside the adapter's range
    └── RunRecordError              a run's record in the state store (naming, resuming a run)
        ├── RunNotFoundError        no run with that id in this state store
        ├── RunExistsError          the run id is taken: resume it, or choose another id
        ├── RunFinishedError        the run has finished: there is nothing to resume
        ├── ResumeMismatchError     what a resume asks for differs from what the run ran with
        └── RunInUseError           another process is running or resuming that run now

Each subclass carries typed attributes so that callers can react without parsing messages.
"""

from __future__ import annotations

__all__ = [
    "AdapterError",
    "AdapterNotFoundError",
    "AgentrigError",
    "BackendUnavailableError",
    "BusError",
    "CassetteError",
    "CassetteMismatchError",
    "ConfigurationError",
    "CorruptStateError",
    "InvalidKeyError",
    "InvalidMessageError",
    "LiveModelRequestError",
    "MessageTooLargeError",
    "MissingCassetteError",
    "MissingExtraError",
    "ModelError",
    "ModelRequestError",
    "NotSerializableError",
    "PlantError",
    "ResumeMismatchError",
    "RunExistsError",
    "RunFinishedError",
    "RunInUseError",
    "RunNotFoundError",
    "RunRecordError",
    "ScenarioError",
    "StateError",
    "TelemetryError",
    "TraceFileError",
    "UnknownDeviceError",
    "UnsupportedFrameworkVersionError",
    "VersionConflict",
]


class AgentrigError(Exception):
    """Base class of every error agentrig raises on purpose."""


class ConfigurationError(AgentrigError):
    """A URL, option or file that agentrig cannot use as given."""


class MissingExtraError(ConfigurationError, ImportError):
    """An optional dependency is missing; the message names the extra that installs it.

    Attributes:
        extra: the name of the extra, as in ``pip install 'agentrig[extra]'``.
    """

    def __init__(self, what: str, extra: str) -> None:
        self.extra = extra
        super().__init__(f"{what} needs the '{extra}' extra: pip install 'agentrig[{extra}]'")


class BackendUnavailableError(AgentrigError):
    """A state store or message bus server that cannot be reached (refused, timed out, auth).

    Attributes:
        url: the backend URL, its password replaced by ``***``.
        reason: the underlying cause, in one line.
    """

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        self.reason = reason
        super().__init__(
            f"cannot reach {url}: {reason}; check that the server is running and that the URL's "
            "host, port, database and password are right"
        )


class StateError(AgentrigError):
    """An error of the state store."""


class VersionConflict(StateError):
    """A compare-and-set save lost: the stored version is not the one the caller expected.

    Nothing was written. ``actual`` is 0 when the key does not exist.
    """

    def __init__(self, key: str, expected: int, actual: int) -> None:
        self.key = key
        self.expected = expected
        self.actual = actual
        super().__init__(
            f"version conflict on {key!r}: expected version {expected}, found {actual}; "
            "load the document again and retry"
        )


class CorruptStateError(StateError):
    """A stored document is not valid JSON (or not a JSON object).

    The data is left where it was, or moved aside to ``location`` -- never overwritten.
    """

    def __init__(self, key: str, location: str, reason: str) -> None:
        self.key = key
        self.location = location
        self.reason = reason
        super().__init__(f"corrupt state for key {key!r} at {location}: {reason}")


class InvalidKeyError(StateError, ValueError):
    """A key that is empty, too long, or would escape its namespace."""

    def __init__(self, key: str, reason: str) -> None:
        self.key = key
        self.reason = reason
        super().__init__(f"invalid state key {key!r}: {reason}")


class NotSerializableError(StateError, TypeError):
    """A value that cannot be stored as JSON; ``path`` points at the offending part."""

    def __init__(self, key: str, path: str, type_name: str) -> None:
        self.key = key
        self.path = path
        self.type_name = type_name
        super().__init__(
            f"cannot store {key!r}: the value at {path} is a {type_name}, which is not JSON; "
            "convert it to str, number, bool, None, list or dict first"
        )


class BusError(AgentrigError):
    """An error of the message bus."""


class MessageTooLargeError(BusError, ValueError):
    """A message larger than the bus accepts; refused at send, nothing was sent."""

    def __init__(self, message_id: str, size: int, limit: int) -> None:
        self.message_id = message_id
        self.size = size
        self.limit = limit
        super().__init__(
            f"message {message_id} is {size} bytes, over the bus limit of {limit} bytes; "
            "store large payloads in the state store and send their key instead"
        )


class InvalidMessageError(BusError, ValueError):
    """Data on the bus that is not a valid Message. It is dead-lettered, never dropped."""

    def __init__(self, source: str, reason: str) -> None:
        self.source = source
        self.reason = reason
        super().__init__(f"invalid message from {source}: {reason}")


class PlantError(AgentrigError):
    """An error of the simulated plant."""


class ScenarioError(PlantError, ValueError):
    """A scenario or plant layout file that does not validate.

    Attributes:
        path: the file.
        field: the dotted path of the offending field ("" for the whole file).
        expected: what was expected there.
    """

    def __init__(self, path: str, field: str, expected: str) -> None:
        self.path = path
        self.field = field
        self.expected = expected
        where = f"field {field!r}" if field else "the file"
        super().__init__(f"{path}: {where}: {expected}")


class UnknownDeviceError(PlantError, KeyError):
    """A device id that the plant does not have."""

    def __init__(self, device_id: str) -> None:
        self.device_id = device_id
        super().__init__(device_id)

    def __str__(self) -> str:
        return f"unknown device {self.device_id!r}; list_devices shows the plant's device ids"


class ModelError(AgentrigError):
    """An error on the model path: endpoint configuration or the reference model."""


class ModelRequestError(ModelError, ValueError):
    """A request the reference model rejects; the server renders it as OpenAI-shaped error JSON.

    Attributes:
        status: the HTTP status (400 invalid, 401 key, 404 unknown model, 413 too large, 422).
        error_type: OpenAI's ``error.type`` (``invalid_request_error``, ...).
        param: the offending request parameter as a dotted path, or None.
        code: OpenAI's machine-readable ``error.code``, or None.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int = 400,
        error_type: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
    ) -> None:
        self.message = message
        self.status = status
        self.error_type = error_type
        self.param = param
        self.code = code
        super().__init__(message)


class TelemetryError(AgentrigError):
    """An error of the telemetry layer (logs, traces, metrics)."""


class TraceFileError(TelemetryError, ValueError):
    """A run's trace file that is missing or is not OTLP-JSON lines.

    Attributes:
        path: the file.
        line: the 1-based line number of the offending line (0 for the whole file).
        reason: what is wrong with it.
    """

    def __init__(self, path: str, line: int, reason: str) -> None:
        self.path = path
        self.line = line
        self.reason = reason
        where = f"{path}:{line}" if line else path
        super().__init__(f"{where}: {reason}")


class CassetteError(AgentrigError):
    """An error with recorded LLM traffic."""


class CassetteMismatchError(CassetteError):
    """A request that no recorded interaction matches: the cassette has drifted.

    Attributes:
        cassette: the cassette file.
        position: the 0-based index of the request within the run.
        diff: a readable diff against the nearest recorded request.
    """

    def __init__(
        self,
        cassette: str,
        position: int,
        diff: str,
        hint: str = "re-record with `agentrig record` if the change is intended",
    ) -> None:
        self.cassette = cassette
        self.position = position
        self.diff = diff
        super().__init__(
            f"no recorded response in {cassette} matches request #{position}; {hint}.\n{diff}"
        )


class MissingCassetteError(CassetteError, FileNotFoundError):
    """Replay (record mode ``none``) needs a cassette that is not there.

    Attributes:
        path: the cassette file that was looked for.
        hint: how to record it.
    """

    def __init__(self, path: str, hint: str) -> None:
        self.path = path
        self.hint = hint
        super().__init__(f"no cassette at {path}: {hint}")


class LiveModelRequestError(CassetteError):
    """A request to a live model while live model requests are blocked (the test-suite guard).

    Attributes:
        method: the HTTP method.
        url: the URL that would have been contacted.
    """

    def __init__(self, method: str, url: str) -> None:
        self.method = method
        self.url = url
        super().__init__(
            f"live model request blocked: {method} {url}. Replay it from a cassette "
            "(the agentrig_replay fixture, or RunSettings(cassettes=...)), or let the test reach "
            "a live model on purpose with @pytest.mark.allow_model_requests"
        )


class AdapterError(AgentrigError):
    """An error raised by or about a framework adapter."""


class AdapterNotFoundError(AdapterError, LookupError):
    """No adapter is registered under ``name``; ``available`` lists those that are."""

    def __init__(self, name: str, available: list[str], hint: str = "") -> None:
        self.name = name
        self.available = available
        message = f"no adapter named {name!r}; installed: {', '.join(available) or 'none'}"
        super().__init__(f"{message}. {hint}" if hint else message)


class RunRecordError(AgentrigError):
    """A run's record in the state store: its id, its attempts, who runs it."""

    def __init__(self, message: str, *, run_id: str) -> None:
        super().__init__(message)
        self.run_id = run_id


class RunNotFoundError(RunRecordError, LookupError):
    """No run with that id in this state store (``state_url`` says which store was asked)."""

    def __init__(self, message: str, *, run_id: str, state_url: str) -> None:
        super().__init__(message, run_id=run_id)
        self.state_url = state_url


class RunExistsError(RunRecordError):
    """A new run was given an id that a run in the store already has."""


class RunFinishedError(RunRecordError):
    """The run has a result already: resuming it would run nothing."""


class ResumeMismatchError(RunRecordError, ValueError):
    """A resume asked for a different run: ``differences`` maps field -> (recorded, asked)."""

    def __init__(
        self, message: str, *, run_id: str, differences: dict[str, tuple[object, object]]
    ) -> None:
        super().__init__(message, run_id=run_id)
        self.differences = differences


class RunInUseError(RunRecordError):
    """Another process holds the run (``owner``: host, pid) and is alive."""

    def __init__(self, message: str, *, run_id: str, owner: str) -> None:
        super().__init__(message, run_id=run_id)
        self.owner = owner


class UnsupportedFrameworkVersionError(AdapterError):
    """The installed framework is outside the versions an adapter's patches were checked against.

    Attributes:
        distribution: the framework's distribution name (``crewai``).
        installed: the version installed.
        supported: the supported range, as ``>=1.15,<1.16``.
        extra: the agentrig extra whose pins install a supported version.
    """

    def __init__(self, distribution: str, installed: str, supported: str, extra: str) -> None:
        self.distribution = distribution
        self.installed = installed
        self.supported = supported
        self.extra = extra
        super().__init__(
            f"{distribution} {installed} is installed, but agentrig's {extra} adapter relies on "
            f"its internals as of {distribution}{supported}: "
            f"pip install '{distribution}{supported}'"
        )
