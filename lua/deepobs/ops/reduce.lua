-- Lua bindings of src/api/reduce.h (to be written).
return {}
