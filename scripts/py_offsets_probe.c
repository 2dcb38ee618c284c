/* py_offsets_probe.c: prints one row of src/lib/python/py_offsets.c for the CPython whose
 * headers it is compiled against (scripts/py_offsets.sh compiles it with Py_BUILD_CORE,
 * so the internal headers give every offset as the compiler sees it). */
#define Py_BUILD_CORE 1
#include <Python.h>
#include <stddef.h>
#include <stdio.h>
#if PY_VERSION_HEX >= 0x030b0000
#include "internal/pycore_frame.h"
#include "internal/pycore_interp.h"
#include "internal/pycore_runtime.h"
#else
#include "internal/pycore_interp.h"
#include "internal/pycore_runtime.h"
#include "frameobject.h"
#endif

int main(void)
{
	printf("\t{ 0x%02x%02x, /* %d.%d */\n", PY_MAJOR_VERSION, PY_MINOR_VERSION, PY_MAJOR_VERSION, PY_MINOR_VERSION);
#if PY_VERSION_HEX >= 0x030b0000
	size_t threads_head = offsetof(PyInterpreterState, threads.head);
#else
	size_t threads_head = offsetof(PyInterpreterState, tstate_head);
#endif
	printf("\t  .rt_interp_head = %zu, .interp_threads_head = %zu,\n",
	       offsetof(_PyRuntimeState, interpreters.head), threads_head);
	printf("\t  .ts_next = %zu,", offsetof(PyThreadState, next));
#if PY_VERSION_HEX >= 0x030b0000
	printf(" .ts_tid = %zu, .tid_kind = PYB_TID_NATIVE,\n", offsetof(PyThreadState, native_thread_id));
#else
	printf(" .ts_tid = %zu, .tid_kind = PYB_TID_PTHREAD,\n", offsetof(PyThreadState, thread_id));
#endif
#if PY_VERSION_HEX >= 0x030d0000
	printf("\t  .ts_frame = %zu, .cframe_current = PYB_NONE,\n", offsetof(PyThreadState, current_frame));
#elif PY_VERSION_HEX >= 0x030b0000
	printf("\t  .ts_frame = %zu, .cframe_current = %zu,\n", offsetof(PyThreadState, cframe),
	       offsetof(_PyCFrame, current_frame));
#else
	printf("\t  .ts_frame = %zu, .cframe_current = PYB_NONE,\n", offsetof(PyThreadState, frame));
#endif
#if PY_VERSION_HEX >= 0x030d0000
	printf("\t  .fr_code = %zu, .fr_prev = %zu, .fr_instr = %zu, .instr_size = 8,\n",
	       offsetof(_PyInterpreterFrame, f_executable), offsetof(_PyInterpreterFrame, previous),
	       offsetof(_PyInterpreterFrame, instr_ptr));
	printf("\t  .fr_flag = %zu, .entry_kind = PYB_ENTRY_OWNER,\n", offsetof(_PyInterpreterFrame, owner));
#elif PY_VERSION_HEX >= 0x030c0000
	printf("\t  .fr_code = %zu, .fr_prev = %zu, .fr_instr = %zu, .instr_size = 8,\n",
	       offsetof(_PyInterpreterFrame, f_code), offsetof(_PyInterpreterFrame, previous),
	       offsetof(_PyInterpreterFrame, prev_instr));
	printf("\t  .fr_flag = %zu, .entry_kind = PYB_ENTRY_OWNER,\n", offsetof(_PyInterpreterFrame, owner));
#elif PY_VERSION_HEX >= 0x030b0000
	printf("\t  .fr_code = %zu, .fr_prev = %zu, .fr_instr = %zu, .instr_size = 8,\n",
	       offsetof(_PyInterpreterFrame, f_code), offsetof(_PyInterpreterFrame, previous),
	       offsetof(_PyInterpreterFrame, prev_instr));
	printf("\t  .fr_flag = %zu, .entry_kind = PYB_ENTRY_IS_ENTRY,\n", offsetof(_PyInterpreterFrame, is_entry));
#else
	printf("\t  .fr_code = %zu, .fr_prev = %zu, .fr_instr = %zu, .instr_size = 4,\n",
	       offsetof(PyFrameObject, f_code), offsetof(PyFrameObject, f_back), offsetof(PyFrameObject, f_lasti));
	printf("\t  .fr_flag = PYB_NONE, .entry_kind = PYB_ENTRY_EVERY,\n");
#endif
	printf("\t  .co_firstlineno = %zu, .co_filename = %zu, .co_name = %zu,\n",
	       offsetof(PyCodeObject, co_firstlineno), offsetof(PyCodeObject, co_filename),
	       offsetof(PyCodeObject, co_name));
#if PY_VERSION_HEX >= 0x030b0000
	printf("\t  .co_qualname = %zu, .co_linetable = %zu, .co_code = %zu, .code_inline = 1,\n",
	       offsetof(PyCodeObject, co_qualname), offsetof(PyCodeObject, co_linetable),
	       offsetof(PyCodeObject, co_code_adaptive));
#elif PY_VERSION_HEX >= 0x030a0000
	printf("\t  .co_qualname = PYB_NONE, .co_linetable = %zu, .co_code = %zu, .code_inline = 0,\n",
	       offsetof(PyCodeObject, co_linetable), offsetof(PyCodeObject, co_code));
#else
	printf("\t  .co_qualname = PYB_NONE, .co_linetable = %zu, .co_code = %zu, .code_inline = 0,\n",
	       offsetof(PyCodeObject, co_lnotab), offsetof(PyCodeObject, co_code));
#endif
	printf("\t  .ascii_size = %zu, .compact_size = %zu, .bytes_sval = %zu,\n",
	       sizeof(PyASCIIObject), sizeof(PyCompactUnicodeObject), offsetof(PyBytesObject, ob_sval));
	printf("\t  .ob_type = %zu, .var_size = %zu },\n", offsetof(PyObject, ob_type), offsetof(PyVarObject, ob_size));
	return 0;
}
