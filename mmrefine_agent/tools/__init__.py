"""Tools a strategy offers the model: the offered set, the runtime context, running a call.

A tool is a langchain-core tool registered by a plugin (``mmrefine_register_tools``);
``strategy.tools`` chooses which a strategy may offer (:mod:`.box`). A call the model makes is
run by :func:`.runner.run_tool_call` with the item in a context the tool can read
(:mod:`.context`); its outcome is a :class:`.results.ToolResult` the model is sent back, and a
record on the step that ran it. Nothing here imports langchain-core until a tool is used.
"""
