// guest:button (issue 10 item 13): the power button as Linux's gpio-keys uses it on
// QEMU virt: a PL061 GPIO controller at 0x09030000 (ARM PrimeCell GPIO TRM DDI 0190),
// line 3, SPI 7 (INTID 39). The guest programs line 3 as an input interrupting on its
// rising edge, sleeps in WFI until the interrupt, checks the PL061's own status
// (GPIOMIS, GPIODATA), clears it (GPIOIC) and powers off.
#include "gic.h"
#include "guest.h"

#define GPIO 0x09030000ull
#define GPIO_DATA_LINE3 (GPIO + (0x08u << 2)) // GPIODATA, address bits [9:2] = mask 0x08
#define GPIO_DIR (GPIO + 0x400)
#define GPIO_IS (GPIO + 0x404)
#define GPIO_IBE (GPIO + 0x408)
#define GPIO_IEV (GPIO + 0x40c)
#define GPIO_IE (GPIO + 0x410)
#define GPIO_RIS (GPIO + 0x414)
#define GPIO_MIS (GPIO + 0x418)
#define GPIO_IC (GPIO + 0x41c)
#define LINE3 (1u << 3)
#define GPIO_SPI 39

static volatile uint32_t g_mis, g_data, g_intid;

static void button_irq(void) {
    const uint64_t id = READ_SYSREG(ICC_IAR1) & 0xffffff;
    g_intid = (uint32_t)id;
    g_mis = REG32(GPIO_MIS);
    g_data = REG32(GPIO_DATA_LINE3);
    REG32(GPIO_IC) = LINE3; // edge interrupt cleared: the level SPI drops
    WRITE_SYSREG(ICC_EOIR1, id);
}

void check_button(void) {
    puts_("guest: button: pl061 ids");
    for (unsigned i = 0; i < 8; ++i) {
        puts_(" ");
        puthex(REG32(GPIO + 0xfe0 + 4 * i) & 0xff);
    }
    puts_("\n");
    REG32(GPIO_DIR) &= ~LINE3; // input
    REG32(GPIO_IS) &= ~LINE3;  // edge
    REG32(GPIO_IBE) &= ~LINE3; // one edge:
    REG32(GPIO_IEV) |= LINE3;  //   rising
    REG32(GPIO_IC) = LINE3;
    REG32(GPIO_IE) |= LINE3;
    g_irq_hook = button_irq;
    gic_enable_spi(GPIO_SPI);
    puts_("guest: button: waiting for the power button\n");
    __asm__ volatile("msr daifclr, #2" ::: "memory");
    while (g_intid == 0)
        __asm__ volatile("wfi" ::: "memory");
    __asm__ volatile("msr daifset, #2" ::: "memory");
    puts_("guest: button: pressed: intid ");
    putdec(g_intid);
    puts_(", gpiomis ");
    puthex(g_mis);
    puts_(", line 3 ");
    puthex(g_data);
    puts_(", after clear ris ");
    puthex(REG32(GPIO_RIS) & LINE3);
    puts_("; powering off\n");
}
