/** Auth shapes come from the wire contract; nothing is redefined here. */
export { AuthResponse, Credentials, ErrorBody, LoginBody, MeResponse, User } from "@parley/contract";
