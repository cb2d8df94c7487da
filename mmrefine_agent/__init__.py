"""mmrefine-agent: research on how (multimodal) language models refine solutions."""
