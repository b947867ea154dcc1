-- Lua bindings of src/api/random.h (to be written).
return {}
