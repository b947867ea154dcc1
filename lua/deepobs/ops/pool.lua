-- Lua bindings of src/api/pool.h (to be written).
return {}
