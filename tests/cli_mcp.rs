//! `agentshim mcp` as an agent's MCP client uses it: the official Python MCP SDK
//! (`pip install mcp`) launches it over stdio against a real server, lists its tools and
//! drives a shell shim through them (spawn, send, capture, kill), and gets a tool error, not a
//! dead session, for a shim that does not exist.

use std::process::Command;

use crate::support::cli::{BIN, Server, json_lines, run};
use crate::support::standard_clients;

/// Runs `agentshim mcp` (argv[1]) under the SDK's stdio client and prints one JSON object per
/// step: the tools' names, then each call's text and whether it is an error result.
const MCP_CLIENT: &str = r#"
import asyncio, json, os, sys
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

def outcome(step, result):
    text = "".join(getattr(block, "text", "") for block in result.content)
    error = bool(getattr(result, "is_error", None) or getattr(result, "isError", None))
    print(json.dumps({"step": step, "error": error, "text": text}), flush=True)

async def main():
    env = {name: os.environ[name] for name in ("AGENTSHIM_ADDR", "XDG_RUNTIME_DIR")}
    server = StdioServerParameters(command=sys.argv[1], args=["mcp"], env=env)
    async with stdio_client(server) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            tools = await session.list_tools()
            names = sorted(tool.name for tool in tools.tools)
            print(json.dumps({"step": "tools", "names": names}), flush=True)
            outcome("spawn", await session.call_tool("spawn", {"profile": "bash", "id": "m1"}))
            outcome("send", await session.call_tool(
                "send", {"shim_id": "m1", "text": "echo mcp-$((6*7))", "timeout_secs": 20}))
            outcome("capture", await session.call_tool("capture", {"shim_id": "m1"}))
            outcome("list", await session.call_tool("list_shims", {}))
            outcome("unknown", await session.call_tool("send", {"shim_id": "nope", "text": "hi"}))
            outcome("kill", await session.call_tool("kill", {"shim_id": "m1"}))

asyncio.run(main())
"#;

#[test]
fn the_python_mcp_sdk_drives_a_shim_through_the_tools() {
    if !standard_clients::python_mcp() {
        return;
    }
    let server = Server::start("mcp", &[], &[]);
    let mut client = Command::new("python3");
    client
        .args(["-c", MCP_CLIENT, BIN])
        .env("AGENTSHIM_ADDR", &server.addr)
        .env("XDG_RUNTIME_DIR", &server.dir)
        .env_remove("AGENTSHIM_TOKEN");
    let outcome = run(client);
    assert!(outcome.ok(), "{outcome:#?}\nserver log:\n{}", server.log());
    let steps = json_lines(&outcome.stdout);
    let step = |name: &str| {
        steps
            .iter()
            .find(|step| step["step"] == name)
            .unwrap_or_else(|| panic!("no step {name}: {outcome:#?}"))
    };
    assert_eq!(
        step("tools")["names"],
        serde_json::json!(["answer", "capture", "kill", "list_shims", "send", "spawn"])
    );
    let succeeded = |name: &str| {
        let step = step(name);
        assert_eq!(step["error"], false, "{name} failed: {step}");
        step["text"].as_str().expect("text").to_owned()
    };
    assert!(succeeded("spawn").contains("m1"));
    assert!(succeeded("send").contains("mcp-42"));
    assert!(succeeded("capture").contains("mcp-42"));
    assert!(succeeded("list").contains("\"m1\""));
    let unknown = step("unknown");
    assert_eq!(unknown["error"], true, "{unknown}");
    let text = unknown["text"].as_str().expect("text");
    assert!(
        text.contains("not found") && text.contains("NOT_FOUND"),
        "{text}"
    );
    assert!(succeeded("kill").starts_with("m1: "));
}
