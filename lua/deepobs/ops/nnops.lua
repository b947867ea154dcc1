-- Lua bindings of src/api/nnops.h (to be written).
return {}
