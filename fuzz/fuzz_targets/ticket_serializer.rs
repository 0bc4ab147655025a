//! ASP.NET Core login tickets: `TicketSerializer::deserialize` on arbitrary bytes (bounded,
//! panic-free), and every ticket it reads serializes back to bytes it reads again the same.
#![no_main]

use keyward_aspnetcore::TicketSerializer;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(ticket) = TicketSerializer::deserialize(data) {
        let bytes = TicketSerializer::serialize(&ticket).expect("a read ticket serializes");
        let again = TicketSerializer::deserialize(&bytes).expect("own bytes read back");
        assert_eq!(again, ticket);
    }
});
