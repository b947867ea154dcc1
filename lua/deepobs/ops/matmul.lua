-- Lua bindings of src/api/matmul.h (to be written).
return {}
