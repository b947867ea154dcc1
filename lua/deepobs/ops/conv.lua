-- Lua bindings of src/api/conv.h (to be written).
return {}
