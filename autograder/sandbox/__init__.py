"""Step 3, the sandbox: student code runs here, and only here, on the far side of a wire.

Grader side: `process.Zygote` starts the sandbox server, `source.SandboxSource` hands the
tests a proxy module per student module (`remote`), whose calls cross to a sandboxed
process (`process.Sandbox`) and come back as plain data (`wire`), checked before use
(`replies`); `limits` holds the limits and the errors. Call plans (`plan`) let a batch of
calls cross at once. Sandbox side (`zygote` and what it imports: `frames`, the protocol
both sides speak, `confine` and `server`): a numpy-only process that forks one confined
process per student module (namespaces, a read-only root, `cgroups`, rlimits, an import
guard) and answers calls. This package's __init__ imports nothing: the sandbox side must
stay numpy-only.
"""
