/*
 * layout_dump.c - print the size, alignment and field layout of every type
 * in <sys/door.h>, for diffing against abi/layout.golden (Linux x86-64).
 *
 * Output format, one line each (the Rust layout test prints the same):
 *   TYPE size N align N          for a type (struct door_results is shown as
 *                                `door_results', it has no typedef)
 *   TYPE.FIELD[.SUB...] OFF SIZE for a field; OFF is from the start of TYPE
 *
 * Checks the types and exact layouts (illumos amd64; abi/layout.golden).
 * Build: cc -std=c11 -Iinclude compat-tests/abi/layout_dump.c
 */
#include <door.h>
#include <stddef.h>
#include <stdio.h>

#define TYPE(t)           printf("%s size %zu align %zu\n", #t, sizeof(t), _Alignof(t))
#define FIELD(name, t, f) printf("%s.%s %zu %zu\n", name, #f, offsetof(t, f), sizeof(((t *)0)->f))

int main(void) {
    TYPE(door_ptr_t);
    TYPE(door_id_t);
    TYPE(door_attr_t);
    TYPE(uint_t);

    TYPE(door_desc_t);
    FIELD("door_desc_t", door_desc_t, d_attributes);
    FIELD("door_desc_t", door_desc_t, d_data);
    FIELD("door_desc_t", door_desc_t, d_data.d_desc);
    FIELD("door_desc_t", door_desc_t, d_data.d_desc.d_descriptor);
    FIELD("door_desc_t", door_desc_t, d_data.d_desc.d_id);
    FIELD("door_desc_t", door_desc_t, d_data.d_resv);

    TYPE(door_info_t);
    FIELD("door_info_t", door_info_t, di_target);
    FIELD("door_info_t", door_info_t, di_proc);
    FIELD("door_info_t", door_info_t, di_data);
    FIELD("door_info_t", door_info_t, di_attributes);
    FIELD("door_info_t", door_info_t, di_uniquifier);
    FIELD("door_info_t", door_info_t, di_resv);

    TYPE(door_cred_t);
    FIELD("door_cred_t", door_cred_t, dc_euid);
    FIELD("door_cred_t", door_cred_t, dc_egid);
    FIELD("door_cred_t", door_cred_t, dc_ruid);
    FIELD("door_cred_t", door_cred_t, dc_rgid);
    FIELD("door_cred_t", door_cred_t, dc_pid);
    FIELD("door_cred_t", door_cred_t, dc_resv);

    TYPE(door_arg_t);
    FIELD("door_arg_t", door_arg_t, data_ptr);
    FIELD("door_arg_t", door_arg_t, data_size);
    FIELD("door_arg_t", door_arg_t, desc_ptr);
    FIELD("door_arg_t", door_arg_t, desc_num);
    FIELD("door_arg_t", door_arg_t, rbuf);
    FIELD("door_arg_t", door_arg_t, rsize);

    printf("door_results size %zu align %zu\n", sizeof(struct door_results),
           _Alignof(struct door_results));
    FIELD("door_results", struct door_results, cookie);
    FIELD("door_results", struct door_results, data_ptr);
    FIELD("door_results", struct door_results, data_size);
    FIELD("door_results", struct door_results, desc_ptr);
    FIELD("door_results", struct door_results, desc_num);
    FIELD("door_results", struct door_results, pc);
    FIELD("door_results", struct door_results, nservers);
    FIELD("door_results", struct door_results, door_info);

    TYPE(door_return_desc_t);
    FIELD("door_return_desc_t", door_return_desc_t, desc_ptr);
    FIELD("door_return_desc_t", door_return_desc_t, desc_num);
    return 0;
}
