/**
 * Request bodies of the REST API. The global validation pipe (transform, whitelist,
 * forbidNonWhitelisted) checks them before a controller runs, so a 400 names the bad field.
 */
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { ArrayMaxSize, ArrayMinSize, IsBoolean, IsIn, IsOptional, IsString, Matches, MaxLength, MinLength, ValidateNested } from 'class-validator';

export class SignInDto {
  @ApiProperty() @IsString() @MinLength(1) @MaxLength(64) username!: string;
  @ApiProperty() @IsString() @MinLength(1) @MaxLength(256) password!: string;
}

export class NewClassDto {
  @ApiProperty({ example: 'ureter', description: 'lower-case letters, digits and _' })
  @IsString() @Matches(/^[a-z][a-z0-9_]{0,63}$/, { message: 'name must be lower-case letters, digits and _, starting with a letter' })
  name!: string;

  @ApiPropertyOptional({ example: '#bcbd22' })
  @IsOptional() @Matches(/^#[0-9a-fA-F]{6}$/, { message: 'color must look like #rrggbb' })
  color?: string;

  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(500) description?: string;
}

export class AddClassesDto {
  @ApiProperty({ type: [NewClassDto] })
  @ValidateNested({ each: true }) @Type(() => NewClassDto) @ArrayMinSize(1) @ArrayMaxSize(64)
  classes!: NewClassDto[];
}

export class ArchiveDto {
  @ApiProperty() @IsBoolean() archived!: boolean;
}

export class CreateUserDto {
  @ApiProperty() @IsString() @Matches(/^[a-z][a-z0-9._-]{1,31}$/, { message: 'username must be 2..32 lower-case letters, digits, . _ -' }) username!: string;
  @ApiProperty() @IsString() @MinLength(12) @MaxLength(256) password!: string;
  @ApiProperty({ enum: ['admin', 'viewer'] }) @IsIn(['admin', 'viewer']) role!: 'admin' | 'viewer';
}
