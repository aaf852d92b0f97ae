/*
 * DMAR override for the 'policy' VM profiles: QEMU 7.2 q35's own DMAR
 * (dumped from /sys/firmware/acpi/tables/DMAR in a guest booted with
 * -device intel-iommu,intremap=on,caching-mode=off, disassembled by iasl -d)
 * plus one RMRR, so that the first edu device (00:10.0) gets a real
 * IOMMU_RESV_DIRECT region and the kernel sets require_direct on it.
 *
 * build-initrd.sh compiles this with iasl into a cpio the kernel's
 * CONFIG_ACPI_TABLE_UPGRADE picks up (kernel/firmware/acpi/dmar.aml).
 *
 * Why it differs from QEMU's table:
 *  - Oem Revision 2 (QEMU's is 1): acpi_table_upgrade only replaces a table
 *    with the same signature, Oem ID and Oem Table ID and a HIGHER revision.
 *  - The DRHD sets INCLUDE_PCI_ALL (Flags 01) instead of listing each
 *    device of bus 0 as QEMU does: that list depends on how many virtio
 *    devices virtme-ng adds, and a device missing from it would get no
 *    context entry and its DMA (9p root!) would fault.  QEMU translates
 *    every device anyway; the IOAPIC scope stays for interrupt remapping.
 *  - The RMRR: 1 MiB at 0x70000000 (free RAM in a 2G guest), for 00:10.0.
 *    run-vm.sh E820-reserves it with memmap=1M$0x70000000 (the kernel
 *    wants an RMRR inside reserved memory, else FW_BUG + taint);
 *    build-initrd.sh derives that argument from the two addresses below,
 *    and the VM test reads them from here too: change them only here.
 *
 * Format: [ByteLength]  FieldName : HexFieldValue  (iasl data table).
 * iasl fills in the table length, checksum and compiler id, but each
 * subtable Length must be right: iasl 20200925 loops forever on a 0 there.
 */
[0004]                          Signature : "DMAR"    [DMA Remapping table]
[0004]                       Table Length : 00000000
[0001]                           Revision : 01
[0001]                           Checksum : 00
[0006]                             Oem ID : "BOCHS "
[0008]                       Oem Table ID : "BXPC    "
[0004]                       Oem Revision : 00000002
[0004]                    Asl Compiler ID : "BXPC"
[0004]              Asl Compiler Revision : 00000001

[0001]                 Host Address Width : 26
[0001]                              Flags : 01
[0010]                           Reserved : 00 00 00 00 00 00 00 00 00 00

[0002]                      Subtable Type : 0000 [Hardware Unit Definition]
[0002]                             Length : 0018

[0001]                              Flags : 01
[0001]                           Reserved : 00
[0002]                 PCI Segment Number : 0000
[0008]              Register Base Address : 00000000FED90000

[0001]                  Device Scope Type : 03 [IOAPIC Device]
[0001]                       Entry Length : 08
[0002]                           Reserved : 0000
[0001]                     Enumeration ID : 00
[0001]                     PCI Bus Number : FF

[0002]                           PCI Path : 00,00


[0002]                      Subtable Type : 0001 [Reserved Memory Region]
[0002]                             Length : 0020

[0002]                           Reserved : 0000
[0002]                 PCI Segment Number : 0000
[0008]                       Base Address : 0000000070000000
[0008]                End Address (limit) : 00000000700FFFFF

[0001]                  Device Scope Type : 01 [PCI Endpoint Device]
[0001]                       Entry Length : 08
[0002]                           Reserved : 0000
[0001]                     Enumeration ID : 00
[0001]                     PCI Bus Number : 00

[0002]                           PCI Path : 10,00
