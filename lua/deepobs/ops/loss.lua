-- Lua bindings of src/api/loss.h (to be written).
return {}
