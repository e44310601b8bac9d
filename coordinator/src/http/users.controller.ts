import { Body, Controller, Get, Param, Patch, Post } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { IsBoolean, IsIn, IsOptional } from 'class-validator';
import { AdminAuthService, type Principal } from '../auth/admin-auth.service';
import { UsersService } from '../auth/users.service';
import { invalid } from '../common/errors';
import { CreateUserDto } from './dtos';
import { CurrentUser, Requires } from './auth.guard';
import { UserRowDto } from './responses';

export class UpdateUserDto {
  @ApiPropertyOptional({ enum: ['admin', 'viewer'] }) @IsOptional() @IsIn(['admin', 'viewer']) role?: 'admin' | 'viewer';
  @ApiPropertyOptional() @IsOptional() @IsBoolean() disabled?: boolean;
}

/** Console accounts for the console's Users page (admins only). */
@ApiTags('auth')
@Controller('api/users')
export class UsersController {
  constructor(private readonly users: UsersService, private readonly auth: AdminAuthService) {}

  @Get()
  @Requires('users:write')
  @ApiOkResponse({ type: [UserRowDto] })
  list(): Promise<UserRowDto[]> {
    return this.users.list();
  }

  @Post()
  @Requires('users:write')
  @ApiCreatedResponse({ type: UserRowDto })
  async create(@CurrentUser() user: Principal, @Body() body: CreateUserDto) {
    await this.auth.createUser(user.username, body.username, body.password, body.role);
    return (await this.users.list()).find((u) => u.username === body.username);
  }

  @Patch(':username')
  @Requires('users:write')
  @ApiOkResponse({ type: UserRowDto })
  update(@CurrentUser() user: Principal, @Param('username') username: string, @Body() body: UpdateUserDto) {
    if (!/^[a-z][a-z0-9._-]{1,31}$/.test(username)) throw invalid('username must be 2..32 lower-case letters, digits, . _ -');
    return this.users.update(user.username, username, body);
  }
}
