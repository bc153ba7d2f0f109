/*
 * static_asserts.c - compile-time checks of <door.h> against illumos' types,
 * exact layouts (Linux x86-64 = illumos amd64) and constant values.
 * Compile only: cc -std=c11 -c -Iinclude static_asserts.c
 *
 * Every size, alignment and offset is asserted, and every field's declared
 * type is checked with _Generic, so a change to the header fails the build.
 */
#include <door.h>
#include <stddef.h>

#if !defined(__x86_64__)
#error "these numbers are for x86-64 (illumos amd64 layout)"
#endif

#define SIZE_ALIGN(t, s, a)                                                                        \
    _Static_assert(sizeof(t) == (s), "sizeof " #t);                                                \
    _Static_assert(_Alignof(t) == (a), "alignof " #t)
#define FIELD(t, f, off, ty)                                                                       \
    _Static_assert(offsetof(t, f) == (off), "offsetof " #t "." #f);                                \
    _Static_assert(sizeof(((t *)0)->f) == sizeof(ty), "sizeof " #t "." #f);                        \
    _Static_assert(_Generic(((t *)0)->f, ty : 1, default : 0), "type of " #t "." #f)
/* For array fields, whose expression decays to a pointer under _Generic. */
#define AFIELD(t, f, off, elem, n)                                                                 \
    _Static_assert(offsetof(t, f) == (off), "offsetof " #t "." #f);                                \
    _Static_assert(sizeof(((t *)0)->f) == sizeof(elem) * (n), "sizeof " #t "." #f);                \
    _Static_assert(_Generic(((t *)0)->f[0], elem : 1, default : 0), "type of " #t "." #f)

/* 2.1 scalar typedefs */
SIZE_ALIGN(door_ptr_t, 8, 8);
SIZE_ALIGN(door_id_t, 8, 8);
SIZE_ALIGN(door_attr_t, 4, 4);
SIZE_ALIGN(uint_t, 4, 4);
_Static_assert(_Generic((door_ptr_t)0, unsigned long long : 1, default : 0), "door_ptr_t");
_Static_assert(_Generic((door_id_t)0, unsigned long long : 1, default : 0), "door_id_t");
_Static_assert(_Generic((door_attr_t)0, unsigned int : 1, default : 0), "door_attr_t");
_Static_assert(_Generic((uint_t)0, unsigned int : 1, default : 0), "uint_t");
_Static_assert(_Generic((zoneid_t)0, int : 1, default : 0), "zoneid_t");
_Static_assert(_Generic((projid_t)0, int : 1, default : 0), "projid_t");
SIZE_ALIGN(pid_t, 4, 4);
SIZE_ALIGN(uid_t, 4, 4);
SIZE_ALIGN(gid_t, 4, 4);

/* 2.3 door_desc_t: packed to 4 */
SIZE_ALIGN(door_desc_t, 24, 4);
SIZE_ALIGN(struct door_desc, 24, 4);
FIELD(door_desc_t, d_attributes, 0, door_attr_t);
_Static_assert(offsetof(door_desc_t, d_data) == 4, "offsetof door_desc_t.d_data");
_Static_assert(sizeof(((door_desc_t *)0)->d_data) == 20, "sizeof door_desc_t.d_data");
_Static_assert(offsetof(door_desc_t, d_data.d_desc) == 4, "offsetof d_data.d_desc");
_Static_assert(sizeof(((door_desc_t *)0)->d_data.d_desc) == 12, "sizeof d_data.d_desc");
FIELD(door_desc_t, d_data.d_desc.d_descriptor, 4, int);
FIELD(door_desc_t, d_data.d_desc.d_id, 8, door_id_t);
AFIELD(door_desc_t, d_data.d_resv, 4, int, 5);

/* 2.4 door_info_t: packed to 4 */
SIZE_ALIGN(door_info_t, 48, 4);
SIZE_ALIGN(struct door_info, 48, 4);
FIELD(door_info_t, di_target, 0, pid_t);
FIELD(door_info_t, di_proc, 4, door_ptr_t);
FIELD(door_info_t, di_data, 12, door_ptr_t);
FIELD(door_info_t, di_attributes, 20, door_attr_t);
FIELD(door_info_t, di_uniquifier, 24, door_id_t);
AFIELD(door_info_t, di_resv, 32, int, 4);

/* 2.5 door_cred_t */
SIZE_ALIGN(door_cred_t, 36, 4);
SIZE_ALIGN(struct door_cred, 36, 4);
FIELD(door_cred_t, dc_euid, 0, uid_t);
FIELD(door_cred_t, dc_egid, 4, gid_t);
FIELD(door_cred_t, dc_ruid, 8, uid_t);
FIELD(door_cred_t, dc_rgid, 12, gid_t);
FIELD(door_cred_t, dc_pid, 16, pid_t);
AFIELD(door_cred_t, dc_resv, 20, int, 4);

/* 2.6 door_arg_t: natural alignment */
SIZE_ALIGN(door_arg_t, 48, 8);
SIZE_ALIGN(struct door_arg, 48, 8);
FIELD(door_arg_t, data_ptr, 0, char *);
FIELD(door_arg_t, data_size, 8, size_t);
FIELD(door_arg_t, desc_ptr, 16, door_desc_t *);
FIELD(door_arg_t, desc_num, 24, uint_t);
FIELD(door_arg_t, rbuf, 32, char *);
FIELD(door_arg_t, rsize, 40, size_t);

/* 2.7 struct door_results (pc is void (*)(void) in libdoor, see sys/door.h) */
SIZE_ALIGN(struct door_results, 64, 8);
FIELD(struct door_results, cookie, 0, void *);
FIELD(struct door_results, data_ptr, 8, char *);
FIELD(struct door_results, data_size, 16, size_t);
FIELD(struct door_results, desc_ptr, 24, door_desc_t *);
FIELD(struct door_results, desc_num, 32, size_t);
FIELD(struct door_results, pc, 40, void (*)(void));
FIELD(struct door_results, nservers, 48, int);
FIELD(struct door_results, door_info, 56, door_info_t *);

/* 2.8 door_return_desc_t */
SIZE_ALIGN(door_return_desc_t, 16, 8);
SIZE_ALIGN(struct door_return_desc, 16, 8);
FIELD(door_return_desc_t, desc_ptr, 0, door_desc_t *);
FIELD(door_return_desc_t, desc_num, 8, uint_t);

/* 3.1-3.3: attribute bits and masks */
_Static_assert(DOOR_UNREF == 0x01 && DOOR_PRIVATE == 0x02 && DOOR_UNREF_MULTI == 0x10 &&
                   DOOR_REFUSE_DESC == 0x40 && DOOR_NO_CANCEL == 0x80 &&
                   DOOR_NO_DEPLETION_CB == 0x100,
               "3.1 door_create attributes");
_Static_assert(DOOR_LOCAL == 0x04 && DOOR_REVOKED == 0x08 && DOOR_IS_UNREF == 0x20 &&
                   DOOR_PRIVCREATE == 0x200 && DOOR_DEPLETION_CB == 0x400,
               "3.2 reported attributes");
_Static_assert(DOOR_CREATE_MASK ==
                   (DOOR_UNREF | DOOR_PRIVATE | DOOR_UNREF_MULTI | DOOR_REFUSE_DESC |
                    DOOR_NO_CANCEL | DOOR_NO_DEPLETION_CB | DOOR_PRIVCREATE),
               "DOOR_CREATE_MASK composition");
_Static_assert(DOOR_CREATE_MASK == 0x3D3, "DOOR_CREATE_MASK");
_Static_assert(DOOR_KI_CREATE_MASK == (DOOR_UNREF | DOOR_UNREF_MULTI) &&
                   DOOR_KI_CREATE_MASK == 0x11,
               "DOOR_KI_CREATE_MASK");
_Static_assert(DOOR_ATTR_MASK == (DOOR_CREATE_MASK | DOOR_LOCAL | DOOR_REVOKED | DOOR_IS_UNREF),
               "DOOR_ATTR_MASK composition");
_Static_assert(DOOR_ATTR_MASK == 0x3FF, "DOOR_ATTR_MASK");

/* 3.4-3.6 */
_Static_assert(DOOR_DESCRIPTOR == 0x10000 && DOOR_HANDLE == 0x20000 && DOOR_RELEASE == 0x40000 &&
                   DOOR_DELAY == 0x80000 && DOOR_UNREF_ACTIVE == 0x100000,
               "3.4 descriptor tags");
_Static_assert(DOOR_INVAL == -1 && DOOR_QUERY == -2, "3.5 sentinels");
_Static_assert(DOOR_PARAM_DESC_MAX == 1 && DOOR_PARAM_DATA_MAX == 2 && DOOR_PARAM_DATA_MIN == 3,
               "3.6 parameters");

/* 3.7 syscall subcodes */
_Static_assert(DOOR_CREATE == 0 && DOOR_REVOKE == 1 && DOOR_INFO == 2 && DOOR_CALL == 3 &&
                   DOOR_BIND == 6 && DOOR_UNBIND == 7 && DOOR_UNREFSYS == 8 && DOOR_UCRED == 9 &&
                   DOOR_RETURN == 10 && DOOR_GETPARAM == 11 && DOOR_SETPARAM == 12,
               "3.7 subcodes");

/* 3.8, 3.9 */
_Static_assert(S_IFDOOR == 0xD000 && S_IFDOOR == 0150000 && S_IFPORT == 0xE000, "3.8 file types");
_Static_assert(S_ISDOOR(0150644) && !S_ISDOOR(0100644) && !S_ISDOOR(S_IFPORT), "S_ISDOOR");
_Static_assert(P_MYID == -1, "P_MYID");

/* An object file with no external definitions is not ISO C; give it one. */
extern int libdoor_static_asserts_passed;
int libdoor_static_asserts_passed = 1;
